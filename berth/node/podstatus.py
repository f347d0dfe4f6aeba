"""The Pod's ``status`` as the kubelet reports it: a pure function of what was observed.

``plan_pod_status`` turns the observed sandbox and containers, the planner's
actions (backoff, initialization, terminal phase), start errors and probe
results into Kubernetes' status: phase, the five conditions, podIP(s),
hostIP, qosClass, startTime, and per container its state (waiting with a
reason, running, terminated), lastState, restartCount, ready and started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from berth.node import labels, podspec
from berth.node.actions import Observed, PodActions
from berth.node.clock import ns_to_rfc3339, rfc3339
from berth.node.runtime.protocol import ContainerState, ContainerStatus

Obj = dict[str, Any]


@dataclass
class StatusInputs:
    observed: Observed
    actions: PodActions
    now: float
    host_ip: str
    start_errors: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> reason, msg
    ready: dict[str, bool] = field(default_factory=dict)  # container id -> readiness verdict
    started: dict[str, bool] = field(default_factory=dict)  # container id -> startup verdict
    start_time: str = ""
    old_status: Obj = field(default_factory=dict)


def terminated_state(s: ContainerStatus) -> Obj:
    state: Obj = {"exitCode": s.exit_code, "reason": s.reason or "Error",
                  "startedAt": ns_to_rfc3339(s.started_at) or None,
                  "finishedAt": ns_to_rfc3339(s.finished_at) or None,
                  "containerID": f"berth://{s.id}"}
    if s.message:
        state["message"] = s.message
    return {"terminated": {k: v for k, v in state.items() if v is not None}}


def _container_status(pod: Obj, c: podspec.ContainerSpec, ins: StatusInputs,
                      initialized: bool) -> Obj:
    latest = ins.observed.latest(c.name)
    previous = ins.observed.previous(c.name)
    out: Obj = {"name": c.name, "image": c.spec.get("image", ""), "imageID": "",
                "ready": False, "restartCount": latest.metadata.attempt if latest else 0,
                "started": False, "lastState": {}}
    if latest is not None:
        out["imageID"] = latest.image_ref
        out["containerID"] = f"berth://{latest.id}"
    if previous is not None:
        out["lastState"] = terminated_state(previous)
    error = ins.start_errors.get(c.name)
    settling = latest is not None and c.name in ins.actions.settling
    if latest is not None and (settling or latest.state in (ContainerState.RUNNING,
                                                            ContainerState.CREATED)):
        out["state"] = {"running": {"startedAt": ns_to_rfc3339(latest.started_at)
                                    or rfc3339(ins.now)}}
        out["started"] = ins.started.get(latest.id, True)
        out["ready"] = out["started"] and ins.ready.get(latest.id, True) and not settling
        return out
    if error is not None:
        reason, message = error
        if c.name in ins.actions.backoff and reason == "ErrImagePull":
            reason = "ImagePullBackOff"
        out["state"] = {"waiting": {"reason": reason, "message": message}}
        if latest is not None:
            out["lastState"] = terminated_state(latest)
        return out
    if latest is not None:
        if c.name in ins.actions.backoff:
            out["state"] = {"waiting": {"reason": "CrashLoopBackOff",
                                        "message": ins.actions.backoff[c.name]}}
            out["lastState"] = terminated_state(latest)
        else:
            out["state"] = terminated_state(latest)
        return out
    waiting = "PodInitializing" if c.kind == labels.KIND_APP and not initialized \
        else "ContainerCreating"
    out["state"] = {"waiting": {"reason": waiting}}
    return out


def _condition(kind: str, ok: bool, now: str, old: list[Obj], reason: str = "") -> Obj:
    prev = next((c for c in old if c.get("type") == kind), None)
    status = "True" if ok else "False"
    since = now if prev is None or prev.get("status") != status \
        else prev.get("lastTransitionTime", now)
    cond: Obj = {"type": kind, "status": status, "lastProbeTime": None,
                 "lastTransitionTime": since}
    if reason and not ok:
        cond["reason"] = reason
    return cond


def _phase(pod: Obj, ins: StatusInputs, app_statuses: list[Obj]) -> str:
    if ins.actions.terminal:
        return ins.actions.terminal
    old_phase = ins.old_status.get("phase")
    if old_phase in ("Succeeded", "Failed"):
        return str(old_phase)
    if not ins.actions.initialized:
        return "Pending"
    if any("running" in s["state"] for s in app_statuses):
        return "Running"
    ever_ran = all(ins.observed.latest(s["name"]) is not None for s in app_statuses)
    return "Running" if ever_ran else "Pending"


def plan_pod_status(pod: Obj, ins: StatusInputs) -> Obj:
    now = rfc3339(ins.now)
    initialized = ins.actions.initialized
    inits = [_container_status(pod, c, ins, initialized) for c in podspec.init_containers(pod)]
    apps = [_container_status(pod, c, ins, initialized) for c in podspec.app_containers(pod)]
    sidecars_ready = all(s["ready"] for s, c in zip(inits, podspec.init_containers(pod),
                                                    strict=True)
                         if c.kind == labels.KIND_SIDECAR)
    phase = _phase(pod, ins, apps)
    containers_ready = (phase == "Running" and all(s["ready"] for s in apps)
                        and sidecars_ready)
    sandbox = ins.observed.sandbox
    old_conds = ins.old_status.get("conditions") or []
    not_ready = "PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady"
    conditions = [
        _condition("PodReadyToStartContainers", sandbox is not None, now, old_conds),
        _condition("Initialized", initialized or phase == "Succeeded", now, old_conds,
                   "ContainersNotInitialized"),
        _condition("Ready", containers_ready, now, old_conds, not_ready),
        _condition("ContainersReady", containers_ready, now, old_conds, not_ready),
        _condition("PodScheduled", True, now, old_conds),
    ]
    status: Obj = {"phase": phase, "conditions": conditions, "hostIP": ins.host_ip,
                   "hostIPs": [{"ip": ins.host_ip}], "qosClass": podspec.qos_class(pod),
                   "startTime": ins.start_time or now, "containerStatuses": apps}
    if inits:
        status["initContainerStatuses"] = inits
    ip = sandbox.network.ip if sandbox is not None else ins.old_status.get("podIP", "")
    if podspec.spec(pod).get("hostNetwork") and sandbox is not None:
        ip = ins.host_ip  # the node's namespace: the pod's IP is the node's
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}] + [{"ip": a} for a in (
            sandbox.network.additional_ips if sandbox is not None else [])]
    return status
