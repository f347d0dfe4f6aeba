"""Pure planning for the EndpointSlice controller: the slices and Endpoints a Service should have.

`selected_pods` finds the pods a Service's selector picks that have an IP;
`endpoint_ports` resolves every Service port against one pod (a named
targetPort is looked up in that pod's container ports; a name the pod does not
have drops that port for that pod, as Kubernetes does). Pods are grouped by
their resolved port list, so a name that resolves differently across pods
yields one slice per distinct list; a group larger than `MAX_ENDPOINTS` is split.
Slices get stable names (`<service>-<hash of the ports>[-<n>]`) so a pass can
diff desired against existing by name; consumers find them by the
`kubernetes.io/service-name` label, as in Kubernetes. A pod whose
``spec.subdomain`` is the Service's name publishes its ``spec.hostname`` (the
name cluster DNS gives it under a headless Service). `plan_endpoints` builds
the legacy v1 Endpoints object from the same groups (ready pods in
``addresses``, not-ready ones in ``notReadyAddresses``, terminating ones left out
unless the Service publishes not-ready addresses).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from berth.api.defaults import apply_defaults
from berth.api.selectors import LabelSelector
from berth.controllers.objects import is_terminal_pod, is_terminating, is_true

Obj = dict[str, Any]
Port = tuple[str, int, str, str]  # name, port, protocol, appProtocol ("" if none)
MAX_ENDPOINTS = 100
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
ENDPOINTS_MANAGED_BY_LABEL = "endpoints.kubernetes.io/managed-by"
ENDPOINTS_MANAGED_BY = "endpoint-controller"


def wants_endpoints(service: Obj) -> bool:
    """A Service with a selector (and not ExternalName) gets controller-made endpoints."""
    spec = service.get("spec") or {}
    return bool(spec.get("selector")) and spec.get("type") != "ExternalName"


def _family(service: Obj) -> str:
    families = (service.get("spec") or {}).get("ipFamilies") or ["IPv4"]
    return "IPv6" if families[0] == "IPv6" else "IPv4"


def selected_pods(service: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """Pods in the Service's namespace matching its selector, with an IP, not finished."""
    spec = service.get("spec") or {}
    selector = LabelSelector.from_spec(spec.get("selector") or {})
    namespace = (service.get("metadata") or {}).get("namespace")
    family = _family(service)
    chosen = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        ip = str((pod.get("status") or {}).get("podIP") or "")
        if meta.get("namespace") != namespace or not ip or is_terminal_pod(pod):
            continue
        if (":" in ip) != (family == "IPv6"):
            continue
        if selector.matches(meta.get("labels") or {}):
            chosen.append(pod)
    return sorted(chosen, key=lambda p: str(p["metadata"].get("name")))


def resolve_target_port(service_port: Obj, pod: Obj) -> int | None:
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port.get("containerPort") or 0) or None
    return None


def endpoint_ports(service: Obj, pod: Obj) -> tuple[Port, ...]:
    ports: list[Port] = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        number = resolve_target_port(sp, pod)
        if number is not None:
            ports.append((str(sp.get("name") or ""), number, str(sp.get("protocol") or "TCP"),
                          str(sp.get("appProtocol") or "")))
    return tuple(ports)


def _conditions(service: Obj, pod: Obj) -> tuple[bool, bool, bool]:
    """(ready, serving, terminating) of one pod's endpoint."""
    terminating = is_terminating(pod)
    serving = is_true(pod, "Ready")
    if (service.get("spec") or {}).get("publishNotReadyAddresses"):
        return True, True, terminating
    return serving and not terminating, serving, terminating


def _target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta.get("namespace"), "name": meta.get("name"),
            "uid": meta.get("uid")}


def _hostname(service: Obj, pod: Obj) -> str:
    """The pod's hostname when its subdomain is this Service (the DNS name of a member)."""
    spec = pod.get("spec") or {}
    name = (service.get("metadata") or {}).get("name")
    return str(spec.get("hostname") or "") if spec.get("subdomain") == name else ""


def _endpoint(service: Obj, pod: Obj) -> Obj:
    ready, serving, terminating = _conditions(service, pod)
    out: Obj = {"addresses": [pod["status"]["podIP"]],
                "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
                "targetRef": _target_ref(pod)}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        out["nodeName"] = node
    hostname = _hostname(service, pod)
    if hostname:
        out["hostname"] = hostname
    return out


def _port_objs(ports: tuple[Port, ...]) -> list[Obj]:
    out = []
    for name, number, protocol, app in ports:
        port: Obj = {"name": name, "port": number, "protocol": protocol}
        if app:
            port["appProtocol"] = app
        out.append(port)
    return out


def _groups(service: Obj, pods: list[Obj]) -> dict[tuple[Port, ...], list[Obj]]:
    groups: dict[tuple[Port, ...], list[Obj]] = {}
    for pod in pods:
        groups.setdefault(endpoint_ports(service, pod), []).append(pod)
    return groups


def _owner(service: Obj) -> Obj:
    meta = service["metadata"]
    return {"apiVersion": "v1", "kind": "Service", "name": meta.get("name"),
            "uid": meta.get("uid"), "controller": True, "blockOwnerDeletion": True}


def slice_name(service_name: str, ports: tuple[Port, ...], chunk: int) -> str:
    digest = hashlib.sha256(json.dumps(ports).encode()).hexdigest()[:5]
    return f"{service_name}-{digest}" + (f"-{chunk}" if chunk else "")


def plan_slices(service: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """The EndpointSlices `service` should have, by stable name (defaults applied)."""
    meta = service["metadata"]
    name, namespace = str(meta.get("name")), meta.get("namespace")
    labels = dict(meta.get("labels") or {})
    labels.update({SERVICE_NAME_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY})
    groups = _groups(service, selected_pods(service, pods))
    if not groups:
        groups = {(): []}
    slices = []
    for ports, members in sorted(groups.items()):
        chunks = [members[i:i + MAX_ENDPOINTS]
                  for i in range(0, len(members), MAX_ENDPOINTS)] or [[]]
        for index, chunk in enumerate(chunks):
            obj: Obj = {
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": slice_name(name, ports, index), "namespace": namespace,
                             "labels": dict(labels), "ownerReferences": [_owner(service)]},
                "addressType": _family(service),
                "endpoints": [_endpoint(service, p) for p in chunk],
                "ports": _port_objs(ports),
            }
            apply_defaults(obj)
            slices.append(obj)
    return slices


def _address(service: Obj, pod: Obj) -> Obj:
    out: Obj = {"ip": pod["status"]["podIP"], "targetRef": _target_ref(pod)}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        out["nodeName"] = node
    hostname = _hostname(service, pod)
    if hostname:
        out["hostname"] = hostname
    return out


def plan_endpoints(service: Obj, pods: Iterable[Obj]) -> Obj:
    """The legacy v1 Endpoints object of `service` (defaults applied)."""
    meta = service["metadata"]
    labels = dict(meta.get("labels") or {})
    labels[ENDPOINTS_MANAGED_BY_LABEL] = ENDPOINTS_MANAGED_BY
    subsets = []
    for ports, members in sorted(_groups(service, selected_pods(service, pods)).items()):
        ready, not_ready = [], []
        for pod in members:
            is_ready, _serving, terminating = _conditions(service, pod)
            if is_ready:
                ready.append(_address(service, pod))
            elif not terminating:
                not_ready.append(_address(service, pod))
        if not (ready or not_ready) or not ports:
            continue
        subset: Obj = {"ports": [{k: v for k, v in p.items() if v != ""}
                                 for p in _port_objs(ports)]}
        if ready:
            subset["addresses"] = sorted(ready, key=lambda a: a["ip"])
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: a["ip"])
        subsets.append(subset)
    obj: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                             "labels": labels}}
    if subsets:
        obj["subsets"] = subsets
    apply_defaults(obj)
    return obj


def differs(desired: Obj, existing: Obj) -> bool:
    """True if `existing` does not already say what `desired` says."""
    for key, value in desired.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata":
            meta = existing.get("metadata") or {}
            if any(meta.get(k) != v for k, v in value.items()):
                return True
        elif existing.get(key) != value:
            return True
    return any(key not in desired for key in ("subsets", "endpoints", "ports")
               if existing.get(key))
