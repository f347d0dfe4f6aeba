"""What to do next for one pod: a pure comparison of the spec with what runs (``podActions``).

``plan_pod_actions`` reads the pod, the observed sandbox and containers, the
crash-loop backoff and probe verdicts, and answers with ``PodActions``: make
a (new) sandbox, which containers to kill, which to start now (in order),
which wait in backoff, and whether the pod has reached a terminal phase.
The rules are Kubernetes': init containers one at a time, each to success
before the next; native sidecars started in order and kept running; app
containers after every init step; restarts per ``restartPolicy`` (sidecars
always), delayed by the crash-loop backoff.  The worker applies the actions
and plans again; nothing here performs I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from berth.node import labels, podspec
from berth.node.backoff import CrashBackoff
from berth.node.runtime.protocol import ContainerState, ContainerStatus, PodSandboxStatus

Obj = dict[str, Any]


@dataclass(frozen=True)
class Observed:
    """The pod as the runtime has it: its live sandbox, dead ones, containers by name."""

    sandbox: PodSandboxStatus | None = None
    dead_sandboxes: tuple[str, ...] = ()
    containers: dict[str, list[ContainerStatus]] = field(default_factory=dict)

    def latest(self, name: str) -> ContainerStatus | None:
        found = self.containers.get(name) or []
        return found[-1] if found else None

    def previous(self, name: str) -> ContainerStatus | None:
        found = self.containers.get(name) or []
        return found[-2] if len(found) > 1 else None


@dataclass
class PodActions:
    create_sandbox: bool = False
    remove_sandboxes: list[str] = field(default_factory=list)
    kill: list[tuple[str, str]] = field(default_factory=list)  # (container id, why)
    start: list[podspec.ContainerSpec] = field(default_factory=list)
    backoff: dict[str, str] = field(default_factory=dict)  # name -> "back-off 10s ..."
    waiting_on_init: str = ""
    initialized: bool = False
    terminal: str = ""  # "Succeeded" or "Failed" when nothing will run again
    settling: set[str] = field(default_factory=set)  # names: just died, exit status on its way

    @property
    def idle(self) -> bool:
        return not (self.create_sandbox or self.remove_sandboxes or self.kill or self.start)


@dataclass(frozen=True)
class Verdicts:
    """Probe results and start failures the planner must respect."""

    liveness_failed: frozenset[str] = frozenset()  # container ids to restart
    start_failed: frozenset[str] = frozenset()  # names whose last create/start failed
    unknown_settled: frozenset[str] = frozenset()  # UNKNOWN long enough to count as dead


def _exited(status: ContainerStatus) -> bool:
    return status.state in (ContainerState.EXITED, ContainerState.UNKNOWN)


def _alive(status: ContainerStatus) -> bool:
    return status.state in (ContainerState.RUNNING, ContainerState.CREATED)


def backoff_message(pod: Obj, name: str, delay: float) -> str:
    m = podspec.meta(pod)
    return (f"back-off {int(delay)}s restarting failed container={name} "
            f"pod={m.get('name')}_{m.get('namespace')}({m.get('uid')})")


class _Planner:
    def __init__(self, pod: Obj, observed: Observed, now: float, backoff: CrashBackoff,
                 verdicts: Verdicts) -> None:
        self.pod, self.obs, self.now, self.backoff, self.verdicts = (
            pod, observed, now, backoff, verdicts)
        self.uid = str(podspec.meta(pod).get("uid", ""))
        self.actions = PodActions()

    def settling(self, status: ContainerStatus) -> bool:
        """UNKNOWN right after the process died, before its monitor wrote the exit status."""
        if status.state == ContainerState.UNKNOWN and \
                status.id not in self.verdicts.unknown_settled:
            self.actions.settling.add(status.metadata.name)
            return True
        return False

    def try_start(self, c: podspec.ContainerSpec, restart: bool) -> bool:
        """Start ``c`` unless its backoff holds it; True when it was scheduled to start."""
        key = (self.uid, c.name)
        if (restart or c.name in self.verdicts.start_failed) and \
                self.backoff.in_backoff(key, self.now):
            self.actions.backoff[c.name] = backoff_message(
                self.pod, c.name, self.backoff.delay(key, self.now))
            return False
        self.actions.start.append(c)
        return True

    def plan_init(self) -> bool:
        """Init steps; True once every regular init container succeeded and sidecars run."""
        for c in podspec.init_containers(self.pod):
            latest = self.obs.latest(c.name)
            if latest is None:
                self.try_start(c, restart=False)
                return False
            if self.settling(latest):
                self.actions.waiting_on_init = c.name
                return False
            if _alive(latest):
                if latest.id in self.verdicts.liveness_failed:
                    self.actions.kill.append((latest.id, "liveness probe failed"))
                if c.kind == labels.KIND_SIDECAR:
                    continue
                self.actions.waiting_on_init = c.name
                return False
            if c.kind == labels.KIND_SIDECAR:
                self.try_start(c, restart=True)
                return False
            if latest.exit_code == 0 and latest.state == ContainerState.EXITED:
                continue
            if podspec.restart_policy(self.pod) == "Never":
                self.actions.terminal = "Failed"
                return False
            self.try_start(c, restart=True)
            return False
        return True

    def plan_apps(self) -> None:
        done, failed = 0, False
        apps = podspec.app_containers(self.pod)
        for c in apps:
            latest = self.obs.latest(c.name)
            if latest is None:
                self.try_start(c, restart=False)
                continue
            if _alive(latest) or self.settling(latest):
                if latest.id in self.verdicts.liveness_failed:
                    self.actions.kill.append((latest.id, "liveness probe failed"))
                continue
            if podspec.should_restart(self.pod, c, latest.exit_code):
                self.try_start(c, restart=True)
                continue
            done += 1
            failed = failed or latest.exit_code != 0 or latest.state != ContainerState.EXITED
        if apps and done == len(apps):
            self.actions.terminal = "Failed" if failed else "Succeeded"

    def plan(self) -> PodActions:
        self.actions.remove_sandboxes = list(self.obs.dead_sandboxes)
        if self.obs.sandbox is None:
            self.actions.create_sandbox = True
            return self.actions
        self.actions.initialized = self.plan_init()
        if self.actions.initialized:
            self.plan_apps()
        return self.actions


def plan_pod_actions(pod: Obj, observed: Observed, now: float, backoff: CrashBackoff,
                     verdicts: Verdicts | None = None) -> PodActions:
    return _Planner(pod, observed, now, backoff, verdicts or Verdicts()).plan()


def plan_termination_order(pod: Obj, observed: Observed) -> list[list[ContainerStatus]]:
    """Stages of a graceful stop: app containers together, then sidecars in reverse order."""
    apps = [s for c in podspec.app_containers(pod)
            if (s := observed.latest(c.name)) is not None and _alive(s)]
    stages = [apps] if apps else []
    for c in reversed(podspec.init_containers(pod)):
        status = observed.latest(c.name)
        if status is not None and _alive(status):
            stages.append([status])
    return stages
