"""The text of ``berth describe``, built from plain objects (no I/O).

``Writer`` collects ``(indent, label, value)`` lines and aligns the values of
all lines at the same indent, as kubectl's describe output looks. ``describe``
picks the pod, node or generic layout and always ends with the events table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from berth.api.tables import since, summarize_pod

Obj = dict[str, Any]
NONE = "<none>"


class Writer:
    """Lines of ``Label:  value``, aligned as kubectl's describe aligns them."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str, str | None]] = []

    def item(self, label: str, value: Any = None, indent: int = 0) -> None:
        self.lines.append((indent, label, None if value is None else str(value)))

    def mapping(self, label: str, values: dict[str, Any] | None, indent: int = 0) -> None:
        """``Labels: a=b`` with further pairs under the first, ``<none>`` when empty."""
        pairs = [f"{k}={v}" for k, v in sorted((values or {}).items())]
        self.item(label, pairs[0] if pairs else NONE, indent)
        for pair in pairs[1:]:
            self.lines.append((indent, "", pair))

    def raw(self, text: str, indent: int = 0) -> None:
        self.lines.append((indent, "\0" + text, None))

    def render(self) -> str:
        """Top-level values share one column; nested ones one column per section."""
        columns: list[int] = []
        top, section, nested = 0, -1, [0]
        for indent, label, value in self.lines:
            if indent == 0:
                section += 1
                nested.append(0)
            if value is None or label.startswith("\0"):
                columns.append(section)
                continue
            if indent == 0:
                top = max(top, len(label) + 1)
            else:
                nested[section + 1] = max(nested[section + 1], indent + len(label) + 1)
            columns.append(section)
        out: list[str] = []
        for (indent, label, value), sec in zip(self.lines, columns, strict=True):
            pad = " " * indent
            if label.startswith("\0"):
                out.append(pad + label[1:])
            elif value is None:
                out.append(f"{pad}{label}:")
            else:
                width = top if indent == 0 else nested[sec + 1] - indent
                head = f"{label}:" if label else ""
                out.append((pad + head.ljust(width + 2) + value).rstrip())
        return "\n".join(out)


def _metadata(w: Writer, obj: Obj) -> None:
    meta = obj.get("metadata", {})
    w.item("Name", meta.get("name", ""))
    if meta.get("namespace"):
        w.item("Namespace", meta["namespace"])
    w.mapping("Labels", meta.get("labels"))
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k != "kubectl.kubernetes.io/last-applied-configuration"}
    w.mapping("Annotations", annotations)
    if meta.get("creationTimestamp"):
        w.item("Created", meta["creationTimestamp"])


def _state(w: Writer, label: str, state: Obj, indent: int) -> None:
    if not state:
        w.item(label, "Waiting", indent)
        return
    name, body = next(iter(state.items()))
    w.item(label, name.capitalize(), indent)
    for key in ("reason", "message", "exitCode", "signal", "startedAt", "finishedAt"):
        if body and body.get(key) not in (None, ""):
            title = {"startedAt": "Started", "finishedAt": "Finished", "exitCode": "Exit Code"}
            w.item(title.get(key, key.capitalize()), body[key], indent + 2)


def _containers(w: Writer, title: str, specs: list[Obj], statuses: list[Obj]) -> None:
    if not specs:
        return
    w.item(title)
    by_name = {s.get("name"): s for s in statuses}
    for c in specs:
        st = by_name.get(c.get("name"), {})
        w.item(f"  {c.get('name')}", None)
        if st.get("containerID"):
            w.item("Container ID", st["containerID"], 4)
        w.item("Image", c.get("image", ""), 4)
        ports = [f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in c.get("ports") or []]
        w.item("Port", ", ".join(ports) or NONE, 4)
        if c.get("command"):
            w.item("Command", " ".join(c["command"]), 4)
        if c.get("args"):
            w.item("Args", " ".join(c["args"]), 4)
        _state(w, "State", st.get("state") or {}, 4)
        if st.get("lastState"):
            _state(w, "Last State", st["lastState"], 4)
        w.item("Ready", "True" if st.get("ready") else "False", 4)
        w.item("Restart Count", st.get("restartCount", 0), 4)
        for kind in ("limits", "requests"):
            res = (c.get("resources") or {}).get(kind)
            if res:
                w.item(kind.capitalize(), None, 4)
                for k, v in res.items():
                    w.item(k, v, 6)
        env = c.get("env") or []
        w.item("Environment", None if env else NONE, 4)
        for e in env:
            w.item(e.get("name", ""), e.get("value", "<set from a source>"), 6)
        mounts = c.get("volumeMounts") or []
        w.item("Mounts", None if mounts else NONE, 4)
        for m in mounts:
            mode = "ro" if m.get("readOnly") else "rw"
            w.raw(f"{m.get('mountPath')} from {m.get('name')} ({mode})", 6)


def _volumes(w: Writer, volumes: list[Obj]) -> None:
    w.item("Volumes", None if volumes else NONE)
    for vol in volumes:
        w.item(f"  {vol.get('name')}", None)
        kinds = [k for k in vol if k != "name"]
        for kind in kinds:
            w.item("Type", kind[0].upper() + kind[1:], 4)
            for k, v in (vol[kind] or {}).items():
                w.item(k[0].upper() + k[1:], v, 4)


def _conditions(w: Writer, conditions: list[Obj]) -> None:
    if not conditions:
        return
    w.item("Conditions")
    width = max([len("Type")] + [len(str(c.get("type", ""))) for c in conditions]) + 2
    w.raw("Type".ljust(width) + "Status", 2)
    for c in conditions:
        w.raw(str(c.get("type", "")).ljust(width) + str(c.get("status", "")), 2)


def describe_pod(w: Writer, pod: Obj) -> None:
    spec, status = pod.get("spec", {}), pod.get("status", {})
    w.item("Priority", spec.get("priority", 0))
    w.item("Service Account", spec.get("serviceAccountName", "default"))
    node = spec.get("nodeName")
    w.item("Node", f"{node}/{status.get('hostIP', '')}" if node else NONE)
    if status.get("startTime"):
        w.item("Start Time", status["startTime"])
    w.item("Status", summarize_pod(pod).status)
    w.item("IP", status.get("podIP", ""))
    ips = status.get("podIPs") or []
    w.item("IPs", None if ips else NONE)
    for ip in ips:
        w.item("IP", ip.get("ip"), 2)
    _containers(w, "Init Containers", spec.get("initContainers") or [],
                status.get("initContainerStatuses") or [])
    _containers(w, "Containers", spec.get("containers") or [],
                status.get("containerStatuses") or [])
    _conditions(w, status.get("conditions") or [])
    _volumes(w, spec.get("volumes") or [])
    if status.get("qosClass"):
        w.item("QoS Class", status["qosClass"])
    w.mapping("Node-Selectors", spec.get("nodeSelector"))


def describe_node(w: Writer, node: Obj) -> None:
    spec, status = node.get("spec", {}), node.get("status", {})
    w.item("Unschedulable", "true" if spec.get("unschedulable") else "false")
    _conditions(w, status.get("conditions") or [])
    w.item("Addresses")
    for addr in status.get("addresses") or []:
        w.item(addr.get("type", ""), addr.get("address", ""), 2)
    w.item("PodCIDR", spec.get("podCIDR", ""))
    w.item("PodCIDRs", ",".join(spec.get("podCIDRs") or []))
    info = status.get("nodeInfo") or {}
    if info:
        w.item("System Info")
        for k, v in info.items():
            w.item(k[0].upper() + k[1:], v, 2)


def describe_generic(w: Writer, obj: Obj) -> None:
    for section in ("spec", "data", "status"):
        if obj.get(section):
            w.item(section.capitalize())
            _nested(w, obj[section], 2)


def _nested(w: Writer, value: Any, indent: int) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict | list) and v:
                w.item(k, None, indent)
                _nested(w, v, indent + 2)
            else:
                w.item(k, v if v not in (None, "", [], {}) else NONE, indent)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                w.raw("-", indent)
                _nested(w, item, indent + 2)
            else:
                w.raw(f"- {item}", indent)


def events_text(events: list[Obj], now: datetime) -> list[str]:
    if not events:
        return ["Events:  <none>"]
    rows = [["Type", "Reason", "Age", "From", "Message"],
            ["----", "------", "----", "----", "-------"]]
    for ev in sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or "")):
        when = ev.get("lastTimestamp") or ev.get("eventTime") or ev.get("firstTimestamp")
        age = since(when, now)
        count = int(ev.get("count") or 1)
        if count > 1 and ev.get("firstTimestamp"):
            age = f"{age} (x{count} over {since(ev['firstTimestamp'], now)})"
        source = (ev.get("source") or {}).get("component") or ev.get("reportingComponent") or ""
        rows.append([str(ev.get("type", "")), str(ev.get("reason", "")), age, str(source),
                     str(ev.get("message", "")).strip()])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["Events:"]
    for r in rows:
        lines.append(("  " + "".join(r[i].ljust(widths[i] + 2) for i in range(4)) + r[4]).rstrip())
    return lines


def describe(obj: Obj, events: list[Obj], now: datetime | None = None) -> str:
    """The whole ``berth describe`` text of ``obj`` and its events."""
    now = now or datetime.now(UTC)
    w = Writer()
    _metadata(w, obj)
    kind = obj.get("kind")
    if kind == "Pod":
        describe_pod(w, obj)
    elif kind == "Node":
        describe_node(w, obj)
    else:
        describe_generic(w, obj)
    return "\n".join([w.render(), *events_text(events, now)])


__all__ = ["Writer", "describe", "events_text"]
