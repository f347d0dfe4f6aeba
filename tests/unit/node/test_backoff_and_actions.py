"""Planning a pod's next steps, and the crash-loop backoff timing, on a fake clock."""

from __future__ import annotations

import itertools
from typing import Any

from berth.node.actions import Observed, Verdicts, plan_pod_actions, plan_termination_order
from berth.node.backoff import CrashBackoff
from berth.node.runtime.protocol import (
    ContainerMetadata,
    ContainerState,
    ContainerStatus,
    PodSandboxMetadata,
    PodSandboxNetworkStatus,
    PodSandboxStatus,
    SandboxState,
)

Obj = dict[str, Any]


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


def a_pod(containers: list[str], inits: list[tuple[str, bool]] = (),  # type: ignore[assignment]
          policy: str = "Always") -> Obj:
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1"},
            "spec": {"restartPolicy": policy,
                     "containers": [{"name": n, "image": "busybox"} for n in containers],
                     "initContainers": [{"name": n, "image": "busybox",
                                         **({"restartPolicy": "Always"} if side else {})}
                                        for n, side in inits]}}


SANDBOX = PodSandboxStatus(id="s1", metadata=PodSandboxMetadata("p", "default", "u1"),
                           state=SandboxState.READY, created_at=1,
                           network=PodSandboxNetworkStatus(ip="10.244.0.5"), netns_path="",
                           pid=1, labels={}, annotations={})


def status(name: str, state: ContainerState, exit_code: int = 0, attempt: int = 0,
           cid: str = "") -> ContainerStatus:
    return ContainerStatus(
        id=cid or f"{name}-{attempt}", metadata=ContainerMetadata(name, attempt), state=state,
        created_at=1, started_at=1, finished_at=2, exit_code=exit_code, image="busybox",
        image_ref="sha256:x", reason="Completed" if exit_code == 0 else "Error", message="",
        labels={}, annotations={}, mounts=[], log_path="")


def observed(*statuses: ContainerStatus) -> Observed:
    by_name: dict[str, list[ContainerStatus]] = {}
    for s in statuses:
        by_name.setdefault(s.metadata.name, []).append(s)
    return Observed(sandbox=SANDBOX, containers=by_name)


RUNNING, EXITED = ContainerState.RUNNING, ContainerState.EXITED


def test_no_sandbox_means_create_one_and_dead_ones_are_removed() -> None:
    actions = plan_pod_actions(a_pod(["app"]), Observed(dead_sandboxes=("old",)), 0,
                               CrashBackoff())
    assert actions.create_sandbox and actions.remove_sandboxes == ["old"]
    assert actions.start == []


def test_init_containers_run_one_at_a_time_then_sidecars_then_apps() -> None:
    pod = a_pod(["app"], [("init-a", False), ("side", True), ("init-b", False)])
    b = CrashBackoff()
    names = lambda acts: [c.name for c in acts.start]  # noqa: E731
    assert names(plan_pod_actions(pod, observed(), 0, b)) == ["init-a"]
    running = plan_pod_actions(pod, observed(status("init-a", RUNNING)), 0, b)
    assert running.start == [] and running.waiting_on_init == "init-a"
    assert names(plan_pod_actions(pod, observed(status("init-a", EXITED)), 0, b)) == ["side"]
    after_side = observed(status("init-a", EXITED), status("side", RUNNING))
    assert names(plan_pod_actions(pod, after_side, 0, b)) == ["init-b"]
    done = observed(status("init-a", EXITED), status("side", RUNNING),
                    status("init-b", EXITED))
    acts = plan_pod_actions(pod, done, 0, b)
    assert names(acts) == ["app"] and acts.initialized


def test_failed_init_container_fails_the_pod_under_never() -> None:
    pod = a_pod(["app"], [("init", False)], policy="Never")
    acts = plan_pod_actions(pod, observed(status("init", EXITED, 1)), 0, CrashBackoff())
    assert acts.terminal == "Failed" and acts.start == []


def test_restart_policies() -> None:
    b = CrashBackoff()
    ok, bad = status("app", EXITED, 0), status("app", EXITED, 2)
    assert plan_pod_actions(a_pod(["app"], policy="Never"), observed(ok), 0, b).terminal \
        == "Succeeded"
    assert plan_pod_actions(a_pod(["app"], policy="Never"), observed(bad), 0, b).terminal \
        == "Failed"
    assert plan_pod_actions(a_pod(["app"], policy="OnFailure"), observed(ok), 0, b).terminal \
        == "Succeeded"
    on_failure = plan_pod_actions(a_pod(["app"], policy="OnFailure"), observed(bad), 0, b)
    assert [c.name for c in on_failure.start] == ["app"] and not on_failure.terminal
    always = plan_pod_actions(a_pod(["app"]), observed(ok), 0, CrashBackoff())
    assert [c.name for c in always.start] == ["app"]


def test_crash_loop_backoff_doubles_to_five_minutes_and_resets_after_ten() -> None:
    clock, backoff = FakeClock(), CrashBackoff()
    pod = a_pod(["app"])
    crashed = observed(status("app", EXITED, 1))
    restarts = []
    # the agent syncs every second for an hour; each planned start counts as a restart
    for _ in range(3600):
        acts = plan_pod_actions(pod, crashed, clock.now(), backoff)
        if acts.start:
            restarts.append(clock.now() - 1000)
            backoff.record_restart(("u1", "app"), clock.now())
        else:
            assert acts.backoff["app"].startswith("back-off ")
        clock.t += 1
    gaps = [b - a for a, b in itertools.pairwise(restarts)]
    assert restarts[0] == 0  # the first restart is immediate
    assert gaps[:6] == [10, 20, 40, 80, 160, 300]
    assert set(gaps[6:]) == {300}
    # a container that ran for 10 minutes since its last restart starts over at 10 s
    clock.t += 600
    assert not backoff.in_backoff(("u1", "app"), clock.now())
    backoff.record_restart(("u1", "app"), clock.now())
    assert backoff.delay(("u1", "app"), clock.now()) == 10


def test_backoff_message_names_delay_container_and_pod() -> None:
    backoff = CrashBackoff()
    backoff.record_restart(("u1", "app"), 0)
    acts = plan_pod_actions(a_pod(["app"]), observed(status("app", EXITED, 1)), 5, backoff)
    assert acts.backoff == {"app": "back-off 10s restarting failed container=app "
                                   "pod=p_default(u1)"}


def test_liveness_failure_kills_the_running_container() -> None:
    acts = plan_pod_actions(a_pod(["app"]), observed(status("app", RUNNING, cid="c1")), 0,
                            CrashBackoff(), Verdicts(liveness_failed=frozenset({"c1"})))
    assert acts.kill == [("c1", "liveness probe failed")]


def test_unknown_container_waits_for_its_exit_status_then_counts_as_dead() -> None:
    pod = a_pod(["app"], policy="OnFailure")
    unknown = observed(status("app", ContainerState.UNKNOWN, cid="c1"))
    waiting = plan_pod_actions(pod, unknown, 0, CrashBackoff())
    assert waiting.idle and waiting.settling == {"app"} and not waiting.terminal
    settled = plan_pod_actions(pod, unknown, 0, CrashBackoff(),
                               Verdicts(unknown_settled=frozenset({"c1"})))
    assert settled.terminal == "Failed"


def test_termination_stops_apps_first_then_sidecars_in_reverse_order() -> None:
    pod = a_pod(["app1", "app2"], [("side-1", True), ("side-2", True)])
    obs = observed(status("side-1", RUNNING), status("side-2", RUNNING),
                   status("app1", RUNNING), status("app2", EXITED))
    stages = [[s.metadata.name for s in stage] for stage in plan_termination_order(pod, obs)]
    assert stages == [["app1"], ["side-2"], ["side-1"]]
