"""Columns of the kinds other than Pod, after kubectl's printers.

Each ``*_COLUMNS`` list names its cells in the order kubectl prints them;
priority-1 columns are the extra ``-o wide`` ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from berth.api.tables._base import AGE, NAME, NONE, Column, Obj, field, first_n, since

# ---------------------------------------------------------------- nodes


def _node_status(node: Obj, now: datetime) -> str:
    words = []
    for cond in node.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            words.append({"True": "Ready", "False": "NotReady"}.get(cond.get("status"), "Unknown"))
    if not words:
        words.append("Unknown")
    if node.get("spec", {}).get("unschedulable"):
        words.append("SchedulingDisabled")
    return ",".join(words)


def _node_roles(node: Obj, now: datetime) -> str:
    roles = set()
    for key, value in (node.get("metadata", {}).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            roles.add(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(r for r in roles if r)) or NONE


def _node_address(kind: str) -> Any:
    def cell(node: Obj, now: datetime) -> str:
        for addr in node.get("status", {}).get("addresses") or []:
            if addr.get("type") == kind:
                return str(addr.get("address"))
        return NONE

    return cell


NODE_COLUMNS = [
    NAME,
    Column("Status", _node_status, description="The status of the node"),
    Column("Roles", _node_roles, description="The roles of the node"),
    AGE,
    Column("Version", field("status", "nodeInfo", "kubeletVersion", default=""),
           description="Kubelet Version reported by the node"),
    Column("Internal-IP", _node_address("InternalIP"), 1),
    Column("External-IP", _node_address("ExternalIP"), 1),
    Column("OS-Image", field("status", "nodeInfo", "osImage", default="<unknown>"), 1),
    Column("Kernel-Version", field("status", "nodeInfo", "kernelVersion", default="<unknown>"), 1),
    Column("Container-Runtime",
           field("status", "nodeInfo", "containerRuntimeVersion", default="<unknown>"), 1),
]

# ---------------------------------------------------------------- services


def _svc_external(svc: Obj, now: datetime) -> str:
    spec = svc.get("spec", {})
    kind = spec.get("type", "ClusterIP")
    external = list(spec.get("externalIPs") or [])
    if kind == "ExternalName":
        return str(spec.get("externalName", NONE))
    if kind == "LoadBalancer":
        ingress = svc.get("status", {}).get("loadBalancer", {}).get("ingress") or []
        ips = [i.get("ip") or i.get("hostname") or "" for i in ingress] + external
        return ",".join(ips) if ips else "<pending>"
    return ",".join(external) if external else NONE


def _svc_ports(svc: Obj, now: datetime) -> str:
    parts = []
    for p in svc.get("spec", {}).get("ports") or []:
        proto = p.get("protocol", "TCP")
        if p.get("nodePort"):
            parts.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            parts.append(f"{p.get('port')}/{proto}")
    return ",".join(parts) or NONE


def _selector(*path: str) -> Any:
    def cell(obj: Obj, now: datetime) -> str:
        cur: Any = obj
        for part in path:
            cur = cur.get(part) if isinstance(cur, dict) else None
        if not cur:
            return NONE
        return ",".join(f"{k}={v}" for k, v in sorted(cur.items()))

    return cell


SERVICE_COLUMNS = [
    NAME,
    Column("Type", field("spec", "type", default="ClusterIP")),
    Column("Cluster-IP", field("spec", "clusterIP")),
    Column("External-IP", _svc_external),
    Column("Port(s)", _svc_ports),
    AGE,
    Column("Selector", _selector("spec", "selector"), 1),
]

# ---------------------------------------------------------------- endpoints


def _slice_ports(es: Obj, now: datetime) -> str:
    ports = es.get("ports")
    if not ports:
        return "<unset>"
    return ",".join(str(p.get("port", "<unset>")) for p in ports)


def _slice_endpoints(es: Obj, now: datetime) -> str:
    addrs = [a for ep in es.get("endpoints") or [] for a in ep.get("addresses") or []]
    return first_n(addrs) or "<unset>"


def _endpoints(ep: Obj, now: datetime) -> str:
    items = []
    for subset in ep.get("subsets") or []:
        ports = subset.get("ports") or [{}]
        for addr in subset.get("addresses") or []:
            for p in ports:
                ip = addr.get("ip", "")
                items.append(f"{ip}:{p['port']}" if "port" in p else ip)
    return first_n(items) or NONE


ENDPOINTSLICE_COLUMNS = [
    NAME,
    Column("AddressType", field("addressType")),
    Column("Ports", _slice_ports),
    Column("Endpoints", _slice_endpoints),
    AGE,
]

ENDPOINTS_COLUMNS = [NAME, Column("Endpoints", _endpoints), AGE]

# ---------------------------------------------------------------- workloads and config


def _count(*path: str) -> Any:
    def cell(obj: Obj, now: datetime) -> int:
        cur: Any = obj
        for part in path:
            cur = cur.get(part) if isinstance(cur, dict) else None
        return int(cur or 0)

    return cell


def _containers(attr: str) -> Any:
    def cell(ds: Obj, now: datetime) -> str:
        pod_spec = ds.get("spec", {}).get("template", {}).get("spec", {})
        return ",".join(str(c.get(attr, "")) for c in pod_spec.get("containers") or []) or NONE

    return cell


def _label_selector(ds: Obj, now: datetime) -> str:
    sel = ds.get("spec", {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for expr in sel.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(expr.get("values") or [])
        word = {"In": "in", "NotIn": "notin"}.get(op)
        if word:
            parts.append(f"{key} {word} ({values})")
        else:
            parts.append(("!" if op == "DoesNotExist" else "") + key)
    return ",".join(parts) or NONE


DAEMONSET_COLUMNS = [
    NAME,
    Column("Desired", _count("status", "desiredNumberScheduled"), type="integer"),
    Column("Current", _count("status", "currentNumberScheduled"), type="integer"),
    Column("Ready", _count("status", "numberReady"), type="integer"),
    Column("Up-to-date", _count("status", "updatedNumberScheduled"), type="integer"),
    Column("Available", _count("status", "numberAvailable"), type="integer"),
    Column("Node Selector", _selector("spec", "template", "spec", "nodeSelector")),
    AGE,
    Column("Containers", _containers("name"), 1),
    Column("Images", _containers("image"), 1),
    Column("Selector", _label_selector, 1),
]


def _data_count(obj: Obj, now: datetime) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


NAMESPACE_COLUMNS = [NAME, Column("Status", field("status", "phase", default="Active")), AGE]
CONFIGMAP_COLUMNS = [NAME, Column("Data", _data_count, type="integer"), AGE]
SECRET_COLUMNS = [
    NAME, Column("Type", field("type", default="Opaque")),
    Column("Data", _data_count, type="integer"), AGE,
]
LEASE_COLUMNS = [NAME, Column("Holder", field("spec", "holderIdentity", default="")), AGE]

# ---------------------------------------------------------------- events


def _event_last_seen(ev: Obj, now: datetime) -> str:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        if ev.get(key):
            return since(ev[key], now)
    return since(ev.get("metadata", {}).get("creationTimestamp"), now)


def _event_object(ev: Obj, now: datetime) -> str:
    inv = ev.get("involvedObject") or {}
    return f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"


def _event_source(ev: Obj, now: datetime) -> str:
    src = ev.get("source") or {}
    parts = [p for p in (src.get("component"), src.get("host")) if p]
    return ", ".join(parts) or str(ev.get("reportingComponent") or "")


EVENT_COLUMNS = [
    Column("Last Seen", _event_last_seen),
    Column("Type", field("type", default="")),
    Column("Reason", field("reason", default="")),
    Column("Object", _event_object),
    Column("Message", field("message", default="")),
    Column("Subobject", field("involvedObject", "fieldPath", default=""), 1),
    Column("Source", _event_source, 1),
    Column("First Seen", lambda ev, now: since(ev.get("firstTimestamp"), now), 1),
    Column("Count", _count("count"), 1, type="integer"),
    Column("Name", NAME.cell, 1, format="name"),
]
