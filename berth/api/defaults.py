"""Defaulting, as Kubernetes applies it before validation and storage.

``apply_defaults(obj)`` fills the fields a user may leave out, with the values
of Kubernetes' ``pkg/apis/core/v1/defaults.go`` (and apps/discovery), in place.
It dispatches on kind to one small function per object, and the pod-spec
functions are shared by Pods and by the pod template of a DaemonSet. Every
function only fills what is absent, so applying defaults twice is the same as
once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from berth.api.resources import Obj, for_object

DEFAULT_NAMESPACE = "default"
_VOLUME_SOURCES_WITH_MODE = ("configMap", "secret", "downwardAPI", "projected")


def apply_defaults(obj: Obj) -> None:
    """Fill defaults into ``obj`` in place (idempotent). Unknown kinds are left alone."""
    resource = for_object(obj)
    if resource is None:
        return
    meta = obj.setdefault("metadata", {})
    if isinstance(meta, dict) and resource.namespaced and not meta.get("namespace"):
        meta["namespace"] = DEFAULT_NAMESPACE
    defaulter = _BY_KIND.get(resource.kind)
    if defaulter is not None:
        defaulter(obj)


def _dict(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """parent[key] as a dict, created if absent; a non-dict value is left for validation."""
    value = parent.get(key)
    if value is None:
        value = {}
        parent[key] = value
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list (non-dicts are validation's business)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# --- pods ---------------------------------------------------------------------

def default_pod(pod: Obj) -> None:
    spec = pod.get("spec")
    if isinstance(spec, dict):
        default_pod_spec(spec)


def default_pod_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_PodSpec plus the per-container, volume and probe defaults."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    host_network = spec.get("hostNetwork") is True
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in _dicts(spec.get(key)):
            default_container(container, host_network)
    for volume in _dicts(spec.get("volumes")):
        default_volume(volume)


def image_pull_policy(image: str) -> str:
    """Always for ``:latest`` or no tag, IfNotPresent for a tag or digest."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def default_container(container: dict[str, Any], host_network: bool = False) -> None:
    image = container.get("image")
    if isinstance(image, str) and image:
        container.setdefault("imagePullPolicy", image_pull_policy(image))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    for port in _dicts(container.get("ports")):
        port.setdefault("protocol", "TCP")
        if host_network and not port.get("hostPort") and port.get("containerPort"):
            port["hostPort"] = port["containerPort"]
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(key)
        if isinstance(probe, dict):
            default_probe(probe)
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            handler = lifecycle.get(hook)
            if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
                _default_http_get(handler["httpGet"])
    for env in _dicts(container.get("env")):
        source = env.get("valueFrom")
        if isinstance(source, dict) and isinstance(source.get("fieldRef"), dict):
            source["fieldRef"].setdefault("apiVersion", "v1")
    resources = container.get("resources")
    if resources is None:
        container["resources"] = {}
    elif isinstance(resources, dict):
        default_resources(resources)


def default_resources(resources: dict[str, Any]) -> None:
    """Requests default to limits for each resource that has a limit and no request."""
    limits = resources.get("limits")
    if not isinstance(limits, dict) or not limits:
        return
    requests = _dict(resources, "requests")
    for name, value in limits.items():
        requests.setdefault(name, value)


def default_probe(probe: dict[str, Any]) -> None:
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        _default_http_get(probe["httpGet"])
    grpc = probe.get("grpc")
    if isinstance(grpc, dict):
        grpc.setdefault("service", "")


def _default_http_get(action: dict[str, Any]) -> None:
    action.setdefault("path", "/")
    action.setdefault("scheme", "HTTP")


def default_volume(volume: dict[str, Any]) -> None:
    """A volume with no source is an emptyDir; file modes default to 0644 (420)."""
    if not any(k != "name" for k in volume):
        volume["emptyDir"] = {}
    for key in _VOLUME_SOURCES_WITH_MODE:
        source = volume.get(key)
        if isinstance(source, dict):
            source.setdefault("defaultMode", 420)
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict):
        host_path.setdefault("type", "")


# --- services, endpoints ------------------------------------------------------

def default_service(service: Obj) -> None:
    spec = service.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec.get("sessionAffinity") == "ClientIP":
        config = _dict(spec, "sessionAffinityConfig")
        client_ip = _dict(config, "clientIP")
        client_ip.setdefault("timeoutSeconds", 10800)
    for port in _dicts(spec.get("ports")):
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and "port" in port:
            port["targetPort"] = port["port"]
    kind = spec.get("type")
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if kind != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if "ipFamilies" not in spec:
            cluster_ip = spec.get("clusterIP")
            family = "IPv6" if isinstance(cluster_ip, str) and ":" in cluster_ip else "IPv4"
            spec["ipFamilies"] = [family]


def default_endpoints(endpoints: Obj) -> None:
    for subset in _dicts(endpoints.get("subsets")):
        for port in _dicts(subset.get("ports")):
            port.setdefault("protocol", "TCP")


def default_endpoint_slice(slice_: Obj) -> None:
    for port in _dicts(slice_.get("ports")):
        port.setdefault("protocol", "TCP")
        port.setdefault("name", "")


# --- other kinds --------------------------------------------------------------

def default_namespace(namespace: Obj) -> None:
    spec = _dict(namespace, "spec")
    spec.setdefault("finalizers", ["kubernetes"])
    status = _dict(namespace, "status")
    status.setdefault("phase", "Active")


def default_node(node: Obj) -> None:
    status = node.get("status")
    if isinstance(status, dict) and isinstance(status.get("capacity"), dict) \
            and "allocatable" not in status:
        status["allocatable"] = dict(status["capacity"])


def default_secret(secret: Obj) -> None:
    secret.setdefault("type", "Opaque")


def default_daemon_set(daemon_set: Obj) -> None:
    spec = daemon_set.get("spec")
    if not isinstance(spec, dict):
        return
    strategy = _dict(spec, "updateStrategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy.get("type") == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        default_pod_spec(template["spec"])


_BY_KIND: dict[str, Callable[[Obj], None]] = {
    "Pod": default_pod,
    "Service": default_service,
    "Endpoints": default_endpoints,
    "EndpointSlice": default_endpoint_slice,
    "Namespace": default_namespace,
    "Node": default_node,
    "Secret": default_secret,
    "DaemonSet": default_daemon_set,
}
