"""Reading a Pod's spec the way the kubelet does: pure helpers over the Kubernetes JSON.

Which containers a pod has and of what kind (regular init, native sidecar =
init container with ``restartPolicy: Always``, app), the restart rules,
grace periods, and the QoS class.  Everything else in the agent asks these
functions rather than poking at dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from berth.api.quantity import parse_quantity
from berth.node import labels

Obj = dict[str, Any]
DEFAULT_GRACE = 30


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    kind: str  # labels.KIND_INIT / KIND_SIDECAR / KIND_APP
    spec: Obj


def meta(pod: Obj) -> Obj:
    return pod.get("metadata") or {}


def spec(pod: Obj) -> Obj:
    return pod.get("spec") or {}


def pod_key(pod: Obj) -> str:
    m = meta(pod)
    return f"{m.get('namespace', 'default')}/{m.get('name', '')}"


def init_containers(pod: Obj) -> list[ContainerSpec]:
    out = []
    for c in spec(pod).get("initContainers") or []:
        kind = labels.KIND_SIDECAR if c.get("restartPolicy") == "Always" else labels.KIND_INIT
        out.append(ContainerSpec(c["name"], kind, c))
    return out


def app_containers(pod: Obj) -> list[ContainerSpec]:
    return [ContainerSpec(c["name"], labels.KIND_APP, c)
            for c in spec(pod).get("containers") or []]


def all_containers(pod: Obj) -> list[ContainerSpec]:
    return init_containers(pod) + app_containers(pod)


def find_container(pod: Obj, name: str) -> ContainerSpec | None:
    return next((c for c in all_containers(pod) if c.name == name), None)


def restart_policy(pod: Obj) -> str:
    return str(spec(pod).get("restartPolicy") or "Always")


def should_restart(pod: Obj, c: ContainerSpec, exit_code: int) -> bool:
    """Whether an exited container is started again (Kubernetes' rules per kind)."""
    if c.kind == labels.KIND_SIDECAR:
        return True
    policy = restart_policy(pod)
    if c.kind == labels.KIND_INIT:
        return exit_code != 0 and policy != "Never"
    if policy == "Always":
        return True
    return policy == "OnFailure" and exit_code != 0


def grace_period(pod: Obj) -> int:
    m = meta(pod)
    if m.get("deletionGracePeriodSeconds") is not None:
        return int(m["deletionGracePeriodSeconds"])
    value = spec(pod).get("terminationGracePeriodSeconds")
    return DEFAULT_GRACE if value is None else int(value)


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _resources(c: Obj) -> tuple[Obj, Obj]:
    res = c.get("resources") or {}
    return res.get("requests") or {}, res.get("limits") or {}


def qos_class(pod: Obj) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' cpu/memory requests/limits."""
    containers = [c.spec for c in all_containers(pod)]
    any_set, guaranteed = False, True
    for c in containers:
        requests, limits = _resources(c)
        for res in ("cpu", "memory"):
            req, lim = requests.get(res, limits.get(res)), limits.get(res)
            if req is not None or lim is not None:
                any_set = True
            if lim is None or req is None or parse_quantity(req) != parse_quantity(lim):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def cpu_millis(value: Any) -> int:
    return int(parse_quantity(value) * 1000)


def memory_bytes(value: Any) -> int:
    return int(parse_quantity(value))


def field_ref(pod: Obj, path: str, node_name: str, pod_ip: str, host_ip: str) -> str:
    """The value of a downward-API ``fieldRef.fieldPath``; KeyError for an unknown path."""
    m = meta(pod)
    simple = {
        "metadata.name": m.get("name", ""), "metadata.namespace": m.get("namespace", ""),
        "metadata.uid": m.get("uid", ""), "spec.nodeName": spec(pod).get("nodeName") or node_name,
        "spec.serviceAccountName": spec(pod).get("serviceAccountName", "default"),
        "status.podIP": pod_ip, "status.podIPs": pod_ip, "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path])
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        items = m.get(source) or {}
        if path == prefix:
            return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str(items.get(path[len(prefix) + 2:-2], ""))
    raise KeyError(path)


def resource_ref(c: Obj, resource: str, divisor: Any = None) -> str:
    """The value of a ``resourceFieldRef`` (limits.cpu, requests.memory, ...)."""
    requests, limits = _resources(c)
    kind, _, name = resource.partition(".")
    table = limits if kind == "limits" else requests
    value = table.get(name)
    if value is None:
        return "0"
    div = parse_quantity(divisor) if divisor else (parse_quantity("1"))
    result = parse_quantity(value) / div
    return str(int(-(-result // 1)))  # ceiling, as the kubelet rounds up
