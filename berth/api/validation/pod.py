"""Pod spec validation, following pkg/apis/core/validation (ValidatePodSpec).

``validate_pod_spec`` checks volumes first (their names feed the volume-mount
check), then regular, init and ephemeral containers (names unique across all
three), then the pod-level fields. The per-container rules live in
``container``; this module decides which apply where: probes and lifecycle
hooks for regular containers and restartable init containers (native
sidecars), not for plain init containers. Pod templates (DaemonSet) reuse
``validate_pod_spec``.
"""

from __future__ import annotations

from typing import Any

from berth.api import schema
from berth.api.validation import names
from berth.api.validation.common import (
    Errs,
    as_dict,
    as_int,
    as_list,
    as_str,
    check_enum,
    child,
    duplicate,
    each,
    forbidden,
    index,
    invalid,
    nonnegative,
    not_supported,
    required,
    validate_labels,
)
from berth.api.validation.container import (
    host_port_conflicts,
    quantity_errors,
    validate_container_common,
    validate_probes_and_lifecycle,
)

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
NOT_FOR_INIT = "may not be set for init containers without restartPolicy=Always"
FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
MAX_INT32 = 2**31 - 1


def volume_sources() -> list[str]:
    """Every volume source field of io.k8s.api.core.v1.Volume (all fields but name)."""
    return [f for f in schema.fields("io.k8s.api.core.v1.Volume") if f != "name"]


def validate_pod_spec(spec: Any, path: str = "spec") -> Errs:
    spec = as_dict(spec)
    errs: Errs = []
    volumes, volume_errs = _validate_volumes(spec.get("volumes"), child(path, "volumes"))
    errs += volume_errs
    containers = as_list(spec.get("containers"))
    init = as_list(spec.get("initContainers"))
    errs += _validate_containers(containers, volumes, child(path, "containers"))
    errs += _validate_init_containers(init, containers, volumes, child(path, "initContainers"))
    errs += _validate_ephemeral(as_list(spec.get("ephemeralContainers")), containers + init,
                                volumes, child(path, "ephemeralContainers"))
    if spec.get("hostNetwork") is True:
        errs += _validate_host_network(spec, path)
    errs += check_enum(child(path, "restartPolicy"), spec.get("restartPolicy"), RESTART_POLICIES)
    errs += check_enum(child(path, "dnsPolicy"), spec.get("dnsPolicy"), DNS_POLICIES)
    if spec.get("dnsPolicy") == "None" and spec.get("dnsConfig") is None:
        errs.append(required(child(path, "dnsConfig"),
                             "must provide `dnsConfig` when `dnsPolicy` is None"))
    errs += validate_labels(spec.get("nodeSelector"), child(path, "nodeSelector"))
    for field_name, check in (("serviceAccountName", names.dns1123_subdomain_errors),
                              ("nodeName", names.dns1123_subdomain_errors),
                              ("hostname", names.dns1123_label_errors),
                              ("subdomain", names.dns1123_label_errors)):
        value = as_str(spec.get(field_name))
        if value:
            errs += each(child(path, field_name), value, check(value))
    deadline = as_int(spec.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        errs.append(invalid(child(path, "activeDeadlineSeconds"), deadline,
                            names.inclusive_range_error(1, MAX_INT32)))
    errs += nonnegative(child(path, "terminationGracePeriodSeconds"),
                        spec.get("terminationGracePeriodSeconds"))
    errs += _validate_tolerations(spec.get("tolerations"), child(path, "tolerations"))
    return errs


# --- volumes --------------------------------------------------------------------

def _validate_volumes(volumes: list[Any] | Any, path: str) -> tuple[set[str], Errs]:
    """Volumes with their errors; only valid volumes count as mountable names."""
    names_ok: set[str] = set()
    errs: Errs = []
    sources = volume_sources()
    for i, volume in enumerate(as_list(volumes)):
        volume = as_dict(volume)
        vol_path = index(path, i)
        name = as_str(volume.get("name"))
        found: Errs = _validate_volume_source(volume, sources, vol_path)
        if not name:
            found.append(required(child(vol_path, "name")))
        else:
            found += each(child(vol_path, "name"), name, names.dns1123_label_errors(name))
        if name in names_ok:
            found.append(duplicate(child(vol_path, "name"), name))
        if found:
            errs += found
        else:
            names_ok.add(name)
    return names_ok, errs


def _validate_volume_source(volume: dict[str, Any], sources: list[str], path: str) -> Errs:
    errs: Errs = []
    count = 0
    for source in sources:
        if volume.get(source) is None:
            continue
        if count:
            errs.append(forbidden(child(path, source), "may not specify more than 1 volume type"))
            continue
        count += 1
        body = as_dict(volume[source])
        src_path = child(path, source)
        if source == "hostPath" and not as_str(body.get("path")):
            errs.append(required(child(src_path, "path")))
        elif source == "configMap" and not as_str(body.get("name")):
            errs.append(required(child(src_path, "name")))
        elif source == "secret" and not as_str(body.get("secretName")):
            errs.append(required(child(src_path, "secretName")))
        elif source == "persistentVolumeClaim" and not as_str(body.get("claimName")):
            errs.append(required(child(src_path, "claimName")))
        elif source == "emptyDir":
            errs += quantity_errors(body.get("sizeLimit"), child(src_path, "sizeLimit"))
        mode = as_int(body.get("defaultMode"))
        if mode is not None and not 0 <= mode <= 0o777:
            errs.append(invalid(child(src_path, "defaultMode"), mode, FILE_MODE_ERROR))
    if count == 0:
        errs.append(required(path, "must specify a volume type"))
    return errs


# --- containers -----------------------------------------------------------------

def _validate_containers(containers: list[Any], volumes: set[str], path: str) -> Errs:
    errs: Errs = []
    if not containers:
        errs.append(required(path))
    seen: set[str] = set()
    for i, ctr in enumerate(containers):
        ctr = as_dict(ctr)
        ctr_path = index(path, i)
        errs += validate_container_common(ctr, volumes, ctr_path)
        name = as_str(ctr.get("name"))
        if name in seen:
            errs.append(duplicate(child(ctr_path, "name"), name))
        seen.add(name)
        errs += validate_probes_and_lifecycle(ctr, ctr_path)
        if ctr.get("restartPolicy") is not None:
            errs.append(forbidden(child(ctr_path, "restartPolicy"),
                                  "may not be set for non-init containers"))
    errs += host_port_conflicts(containers, path)
    return errs


def _validate_init_containers(init: list[Any], others: list[Any], volumes: set[str],
                              path: str) -> Errs:
    errs: Errs = []
    seen = {as_str(as_dict(c).get("name")) for c in others}
    for i, ctr in enumerate(init):
        ctr = as_dict(ctr)
        ctr_path = index(path, i)
        errs += validate_container_common(ctr, volumes, ctr_path)
        policy = ctr.get("restartPolicy")
        if policy is not None and policy != "Always":
            errs.append(not_supported(child(ctr_path, "restartPolicy"), policy, ["Always"]))
        name = as_str(ctr.get("name"))
        if name in seen:
            errs.append(duplicate(child(ctr_path, "name"), name))
        elif name:
            seen.add(name)
        errs += host_port_conflicts([ctr], path, start=i)
        if policy == "Always":
            errs += validate_probes_and_lifecycle(ctr, ctr_path)
        else:
            for field_name in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if ctr.get(field_name) is not None:
                    errs.append(forbidden(child(ctr_path, field_name), NOT_FOR_INIT))
    return errs


def _validate_ephemeral(ephemeral: list[Any], others: list[Any], volumes: set[str],
                        path: str) -> Errs:
    errs: Errs = []
    seen = {as_str(as_dict(c).get("name")) for c in others}
    for i, ctr in enumerate(ephemeral):
        ctr = as_dict(ctr)
        ctr_path = index(path, i)
        errs += validate_container_common(ctr, volumes, ctr_path)
        name = as_str(ctr.get("name"))
        if name in seen:
            errs.append(duplicate(child(ctr_path, "name"), name))
        seen.add(name)
        for field_name in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe",
                           "ports", "resources", "restartPolicy"):
            if ctr.get(field_name) not in (None, {}, []):
                errs.append(forbidden(child(ctr_path, field_name),
                                      "cannot be set for an Ephemeral Container"))
    return errs


def _validate_host_network(spec: dict[str, Any], path: str) -> Errs:
    errs: Errs = []
    for list_name in ("containers", "initContainers"):
        for ci, ctr in enumerate(as_list(spec.get(list_name))):
            for pi, port in enumerate(as_list(as_dict(ctr).get("ports"))):
                port = as_dict(port)
                host = as_int(port.get("hostPort"))
                if host and host != port.get("containerPort"):
                    port_path = index(child(index(child(path, list_name), ci), "ports"), pi)
                    errs.append(invalid(child(port_path, "hostPort"), host,
                                        "must match `containerPort` when `hostNetwork` is true"))
    return errs


def _validate_tolerations(tolerations: Any, path: str) -> Errs:
    errs: Errs = []
    for i, tol in enumerate(as_list(tolerations)):
        tol = as_dict(tol)
        tol_path = index(path, i)
        tol_key = as_str(tol.get("key"))
        if tol_key:
            errs += each(child(tol_path, "key"), tol_key, names.qualified_name_errors(tol_key))
        operator = tol.get("operator") or "Equal"
        if not tol_key and operator != "Exists":
            errs.append(invalid(child(tol_path, "operator"), operator,
                                "operator must be Exists when `key` is empty, which means "
                                "\"match all values and all keys\""))
        if operator == "Exists" and as_str(tol.get("value")):
            errs.append(invalid(child(tol_path, "operator"), tol.get("value"),
                                "value must be empty when `operator` is 'Exists'"))
        elif operator not in ("Equal", "Exists"):
            errs.append(not_supported(child(tol_path, "operator"), operator, ["Equal", "Exists"]))
        effect = tol.get("effect")
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(not_supported(child(tol_path, "effect"), effect,
                                      ["NoExecute", "NoSchedule", "PreferNoSchedule"]))
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(invalid(child(tol_path, "effect"), effect or "",
                                "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    return errs
