"""The pod columns, with kubectl's STATUS, READY and RESTARTS algorithm.

``summarize_pod`` walks init containers first (``Init:0/1``,
``Init:CrashLoopBackOff``), then the app containers from last to first, so the
word shown is the one kubectl shows: ``ContainerCreating``, ``PodInitializing``,
``CrashLoopBackOff``, ``Completed``, ``Error``, ``Terminating``...
Restartable init containers (sidecars) count towards READY like kubectl 1.28+.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from berth.api.tables._base import (
    AGE,
    NAME,
    NONE,
    Cell,
    Column,
    Obj,
    field,
    human_duration,
    parse_time,
)


def _restartable(init_container: Obj) -> bool:
    return init_container.get("restartPolicy") == "Always"


def _condition_true(status: Obj, kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _terminated_word(term: Obj, prefix: str) -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


@dataclass(frozen=True)
class PodSummary:
    """What kubectl shows of a pod in its default columns."""

    ready: int
    total: int
    status: str
    restarts: int
    last_restart: datetime | None


def _init_status(pod: Obj) -> tuple[str | None, int, datetime | None, int]:
    """Walk init containers: (reason if still initializing, restarts, last restart, ready sidecars)."""
    spec_inits = pod.get("spec", {}).get("initContainers") or []
    statuses = pod.get("status", {}).get("initContainerStatuses") or []
    restarts, last, ready = 0, None, 0
    for i, cs in enumerate(statuses):
        restarts += int(cs.get("restartCount", 0))
        last = _later(last, cs)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        spec = spec_inits[i] if i < len(spec_inits) else {}
        if term is not None and int(term.get("exitCode", 0)) == 0:
            continue
        if _restartable(spec) and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            return _terminated_word(term, "Init:"), restarts, last, ready
        if waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return "Init:" + str(waiting["reason"]), restarts, last, ready
        return f"Init:{i}/{len(spec_inits)}", restarts, last, ready
    return None, restarts, last, ready


def _later(last: datetime | None, cs: Obj) -> datetime | None:
    term = (cs.get("lastState") or {}).get("terminated")
    when = parse_time(term.get("finishedAt")) if term else None
    if when is not None and (last is None or when > last):
        return when
    return last


def summarize_pod(pod: Obj) -> PodSummary:
    """Compute READY, STATUS and RESTARTS as kubectl's pod printer does."""
    spec, status = pod.get("spec", {}), pod.get("status", {})
    sidecars = sum(1 for c in spec.get("initContainers") or [] if _restartable(c))
    total = len(spec.get("containers") or []) + sidecars
    reason = str(status.get("reason") or status.get("phase") or "Pending")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_reason, restarts, last, ready = _init_status(pod)
    if init_reason is not None:
        reason = init_reason
    if init_reason is None or _condition_true(status, "Initialized"):
        restarts = sum(
            int(cs.get("restartCount", 0))
            for cs, c in zip(status.get("initContainerStatuses") or [],
                             spec.get("initContainers") or [], strict=False)
            if _restartable(c)
        )
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount", 0))
            last = _later(last, cs)
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif term is not None:
                reason = _terminated_word(term, "")
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status, "Ready") else "NotReady"
    meta = pod.get("metadata", {})
    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return PodSummary(ready, total, reason, restarts, last)


def pod_status(pod: Obj) -> str:
    """The STATUS word of ``kubectl get pods`` (Running, ContainerCreating, Init:0/1, ...)."""
    return summarize_pod(pod).status


def _pod_ready(pod: Obj, now: datetime) -> str:
    s = summarize_pod(pod)
    return f"{s.ready}/{s.total}"


def _pod_status(pod: Obj, now: datetime) -> str:
    return pod_status(pod)


def _pod_restarts(pod: Obj, now: datetime) -> Cell:
    s = summarize_pod(pod)
    if s.last_restart is None:
        return s.restarts
    return f"{s.restarts} ({human_duration((now - s.last_restart).total_seconds())} ago)"


def _pod_gates(pod: Obj, now: datetime) -> str:
    gates = pod.get("spec", {}).get("readinessGates") or []
    if not gates:
        return NONE
    conds = {c.get("type"): c.get("status") for c in pod.get("status", {}).get("conditions") or []}
    ok = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
    return f"{ok}/{len(gates)}"


POD_COLUMNS = [
    NAME,
    Column("Ready", _pod_ready, description="The number of ready containers"),
    Column("Status", _pod_status, description="The aggregate status of the pod"),
    Column("Restarts", _pod_restarts, type="integer", description="Container restarts"),
    AGE,
    Column("IP", field("status", "podIP"), 1, description="The pod's IP address"),
    Column("Node", field("spec", "nodeName"), 1, description="The node the pod runs on"),
    Column("Nominated Node", field("status", "nominatedNodeName"), 1),
    Column("Readiness Gates", _pod_gates, 1),
]
