"""The pod worker's state machine on fakes: what a user sees in the pod's status.

Each test runs a real `PodWorker` over the fake runtime in simulated time
(`berth.testing.looptime`), so restarts with crash-loop backoff, probes and
grace periods play out over minutes in milliseconds, without root or runc.
The same paths on real runc are covered by tests/integration/node.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from berth.node.runtime.errors import RunContainerError
from berth.testing import looptime
from berth.testing.fakes.node import FakeNode, make_container, make_pod
from berth.testing.fakes.programs import Program
from berth.testing.looptime import VirtualTimeLoop

T = TypeVar("T")
Obj = dict[str, Any]


def on_fake_node(tmp_path: Path, scenario: Callable[[FakeNode], Awaitable[T]]) -> T:
    async def main(loop: VirtualTimeLoop) -> T:
        node = FakeNode(loop, tmp_path)
        try:
            return await scenario(node)
        finally:
            await node.close()

    return looptime.run(main)


def state(s: Obj) -> str:
    return next(iter(s["state"]))


def of(status: Obj, name: str) -> Obj:
    """Container ``name``'s entry in a pod status (app or init)."""
    return next(s for s in (status.get("containerStatuses") or []) + (
        status.get("initContainerStatuses") or []) if s["name"] == name)


def waiting(status: Obj, name: str) -> str:
    return str(of(status, name)["state"].get("waiting", {}).get("reason", ""))


def conditions(status: Obj) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status["conditions"]}


def test_a_running_pod_is_running_and_ready_with_its_ip(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        node.run_pod(make_pod("web", [make_container("app", ["sleep", "1000"])]))
        status = await node.wait_for("web", lambda s: s["phase"] == "Running")
        assert conditions(status) == {"PodReadyToStartContainers": "True",
                                      "Initialized": "True", "Ready": "True",
                                      "ContainersReady": "True", "PodScheduled": "True"}
        assert status["podIP"] == "10.88.0.2" and status["hostIP"] == "198.18.0.2"
        app = node.container("web", "app")
        assert state(app) == "running" and app["ready"] and app["started"]
        assert app["restartCount"] == 0 and app["lastState"] == {}
        assert app["imageID"].startswith("sha256:")
        assert await node.events() == ["Pulled", "Created", "Started"]

    on_fake_node(tmp_path, scenario)


def gaps(node: FakeNode, name: str) -> list[float]:
    times = [t for n, t in node.runtime.start_times if n == name]
    return [round(b - a, 1) for a, b in itertools.pairwise(times)]


def test_always_restarts_a_crashing_container_with_crash_loop_backoff(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        node.run_pod(make_pod("crash", [make_container("app", ["sh", "-c", "exit 3"])]))
        status = await node.wait_for("crash", lambda s: state(s["containerStatuses"][0])
                                     == "waiting")
        app = node.container("crash", "app")
        assert app["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert app["state"]["waiting"]["message"].startswith(
            "back-off 10s restarting failed container=app pod=crash_default(")
        assert app["restartCount"] == 1 and not app["ready"]
        last = app["lastState"]["terminated"]
        assert (last["exitCode"], last["reason"]) == (3, "Error")
        assert status["phase"] == "Running"  # as Kubernetes: restarting is not a phase
        assert conditions(status)["Ready"] == "False"
        await node.wait(400)
        # the first restart is at once (next sync), then 10 s, 20 s, 40 s, ... up to 300 s
        observed = gaps(node, "app")
        expected = [0, 10, 20, 40, 80, 160]
        assert len(observed) >= len(expected)
        for got, want in zip(observed, expected, strict=False):
            assert want <= got <= want + 1.5, observed
        app = node.container("crash", "app")
        assert app["restartCount"] == len(observed)
        assert "BackOff" in await node.events()
        backoff = next(e for e in node.client.events if e["reason"] == "BackOff")
        assert backoff["count"] >= 5 and backoff["type"] == "Warning"  # one event, counted

    on_fake_node(tmp_path, scenario)


def test_on_failure_restarts_failures_and_succeeds_once_a_run_exits_zero(
        tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        node.run_pod(make_pod("job", [make_container("work", ["sh", "-c", "exit 1"])],
                              restartPolicy="OnFailure"))
        await node.wait_for("job", lambda s: of(s, "work")["restartCount"] >= 1)
        node.runtime.program("work", Program(runs_for=2.0, exit_code=0))
        status = await node.wait_for("job", lambda s: s["phase"] == "Succeeded")
        work = node.container("job", "work")
        done = work["state"]["terminated"]
        assert (done["exitCode"], done["reason"]) == (0, "Completed")
        assert work["restartCount"] >= 2
        assert work["lastState"]["terminated"]["exitCode"] == 1
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")
        assert ("stop_pod_sandbox", "job") in node.runtime.calls  # its IP is released
        starts = len(node.runtime.start_times)
        await node.wait(120)
        assert len(node.runtime.start_times) == starts, "a finished pod never runs again"
        assert node.status("job")["phase"] == "Succeeded"

    on_fake_node(tmp_path, scenario)


@pytest.mark.parametrize(("code", "phase", "reason"), [(0, "Succeeded", "Completed"),
                                                       (4, "Failed", "Error")])
def test_never_runs_once_and_reports_the_exit(tmp_path: Path, code: int, phase: str,
                                              reason: str) -> None:
    async def scenario(node: FakeNode) -> None:
        node.run_pod(make_pod("once", [make_container("c", ["sh", "-c", f"sleep 5; exit {code}"])],
                              restartPolicy="Never"))
        running = await node.wait_for("once", lambda s: s["phase"] == "Running")
        assert state(running["containerStatuses"][0]) == "running"
        status = await node.wait_for("once", lambda s: s["phase"] == phase)
        c = node.container("once", "c")
        assert (c["state"]["terminated"]["exitCode"], c["state"]["terminated"]["reason"]) == (
            code, reason)
        assert c["restartCount"] == 0
        assert node.runtime.started_names() == ["c"]
        assert status["podIP"] == "10.88.0.2"

    on_fake_node(tmp_path, scenario)


def test_init_containers_run_in_order_before_the_app(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        inits = [make_container("first", ["sh", "-c", "sleep 3"]),
                 make_container("second", ["sh", "-c", "sleep 2; exit 0"])]
        node.run_pod(make_pod("ordered", [make_container("app", ["sleep", "1000"])],
                              initContainers=inits))
        pending = await node.wait_for("ordered", lambda s: s.get("initContainerStatuses")
                                      and state(s["initContainerStatuses"][0]) == "running")
        assert pending["phase"] == "Pending"
        assert conditions(pending)["Initialized"] == "False"
        assert node.container("ordered", "app")["state"] == {
            "waiting": {"reason": "PodInitializing"}}
        assert node.container("ordered", "second")["state"]["waiting"]["reason"] == \
            "ContainerCreating"
        status = await node.wait_for("ordered", lambda s: s["phase"] == "Running")
        assert conditions(status)["Initialized"] == "True"
        for name in ("first", "second"):
            assert node.container("ordered", name)["state"]["terminated"]["reason"] == \
                "Completed"
        assert node.runtime.started_names() == ["first", "second", "app"]
        first, second, app = (t for _, t in node.runtime.start_times)
        assert second - first >= 3 and app - second >= 2

    on_fake_node(tmp_path, scenario)


def test_a_failed_init_container_fails_a_never_pod_and_the_app_never_starts(
        tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        node.run_pod(make_pod("bad-init", [make_container("app", ["sleep", "1000"])],
                              restartPolicy="Never",
                              initContainers=[make_container("check", ["sh", "-c", "exit 2"])]))
        status = await node.wait_for("bad-init", lambda s: s["phase"] == "Failed")
        check = node.container("bad-init", "check")["state"]["terminated"]
        assert (check["exitCode"], check["reason"]) == (2, "Error")
        assert conditions(status)["Initialized"] == "False"
        assert node.container("bad-init", "app")["state"]["waiting"]["reason"] == \
            "PodInitializing"
        assert node.runtime.started_names() == ["check"]

    on_fake_node(tmp_path, scenario)


def test_a_failing_init_container_is_retried_with_backoff_under_always(
        tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        node.run_pod(make_pod("retry-init", [make_container("app", ["sleep", "1000"])],
                              initContainers=[make_container("check", ["false"])]))
        status = await node.wait_for("retry-init", lambda s: state(
            s["initContainerStatuses"][0]) == "waiting" and
            s["initContainerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff")
        assert status["phase"] == "Pending"
        assert node.container("retry-init", "check")["lastState"]["terminated"]["exitCode"] == 1
        node.runtime.program("check", Program(runs_for=0.0, exit_code=0))
        await node.wait_for("retry-init", lambda s: s["phase"] == "Running", within=60)
        assert set(node.runtime.started_names()) == {"check", "app"}
        assert node.runtime.started_names()[-1] == "app"

    on_fake_node(tmp_path, scenario)


def test_a_start_failure_is_reported_then_retried(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        node.runtime.fail("start_container", RunContainerError("exec format error"),
                          container="app")
        node.run_pod(make_pod("flaky", [make_container("app", ["sleep", "1000"])]))
        await node.wait_for("flaky", lambda s: state(s["containerStatuses"][0]) == "waiting")
        waiting = node.container("flaky", "app")["state"]["waiting"]
        assert waiting["reason"] == "RunContainerError"
        assert "exec format error" in waiting["message"]
        await node.wait_for("flaky", lambda s: s["phase"] == "Running"
                            and state(s["containerStatuses"][0]) == "running", within=60)
        assert "Failed" in await node.events()

    on_fake_node(tmp_path, scenario)


def test_a_missing_image_is_err_image_pull_then_image_pull_backoff(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        node.run_pod(make_pod("noimg", [make_container("app", ["sleep", "1000"], image="nginx")]))
        await node.wait_for("noimg", lambda s: waiting(s, "app") == "ErrImagePull")
        await node.wait_for("noimg", lambda s: waiting(s, "app") == "ImagePullBackOff")
        assert node.status("noimg")["phase"] == "Pending"
        node.images.add("nginx")
        await node.wait_for("noimg", lambda s: s["phase"] == "Running", within=400)

    on_fake_node(tmp_path, scenario)


def failing_after(node: FakeNode, container: str, seconds: float) -> None:
    """Exec probes of ``container`` succeed for ``seconds`` (simulated), then fail."""
    start = node.loop.time()

    def answer(name: str, cmd: list[str]) -> int | None:
        if name != container:
            return None
        return 0 if node.loop.time() - start < seconds else 1

    node.runtime.on_exec = answer


def test_readiness_probe_drives_the_ready_conditions(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        healthy = {"now": False}
        node.runtime.on_exec = lambda name, cmd: 0 if healthy["now"] else 1
        probe = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 5}
        node.run_pod(make_pod("probed", [make_container("app", ["sleep", "10000"],
                                                        readinessProbe=probe)]))
        status = await node.wait_for("probed", lambda s: s["phase"] == "Running")
        await node.wait(30)
        status = node.status("probed")
        assert conditions(status)["Ready"] == "False"
        assert conditions(status)["ContainersReady"] == "False"
        app = node.container("probed", "app")
        assert state(app) == "running" and not app["ready"]
        healthy["now"] = True
        status = await node.wait_for("probed", lambda s: conditions(s)["Ready"] == "True",
                                     within=10)
        assert node.container("probed", "app")["ready"]
        healthy["now"] = False  # three failures in a row (failureThreshold) make it unready
        await node.wait_for("probed", lambda s: conditions(s)["Ready"] == "False", within=20)
        assert node.container("probed", "app")["restartCount"] == 0, "readiness never restarts"
        assert ("app", ["cat", "/tmp/ready"]) in node.runtime.execs

    on_fake_node(tmp_path, scenario)


def test_a_failing_liveness_probe_restarts_the_container(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        failing_after(node, "app", 30)
        probe = {"exec": {"command": ["true"]}, "periodSeconds": 10, "failureThreshold": 3}
        node.run_pod(make_pod("live", [make_container("app", ["sleep", "10000"],
                                                      livenessProbe=probe)],
                              terminationGracePeriodSeconds=5))
        await node.wait_for("live", lambda s: of(s, "app")["restartCount"] == 1,
                            within=120)
        app = node.container("live", "app")
        # `sleep` as PID 1 ignores SIGTERM: killed after the 5 s grace period
        assert app["lastState"]["terminated"]["exitCode"] == 137
        assert ("app", 5.0) in node.runtime.stops
        kill_time = next(t for n, t in node.runtime.start_times[1:] if n == "app")
        assert 50 <= kill_time - node.runtime.start_times[0][1] <= 70
        reasons = await node.events()
        assert "Unhealthy" in reasons and "Killing" in reasons

    on_fake_node(tmp_path, scenario)


def test_startup_probe_holds_started_and_ready_until_it_succeeds(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        started = {"now": False}

        def answer(name: str, cmd: list[str]) -> int:
            if cmd == ["startup"]:
                return 0 if started["now"] else 1
            return 0

        node.runtime.on_exec = answer
        startup = {"exec": {"command": ["startup"]}, "periodSeconds": 2,
                   "failureThreshold": 30}
        liveness = {"exec": {"command": ["alive"]}, "periodSeconds": 2}
        node.run_pod(make_pod("slow", [make_container("app", ["sleep", "10000"],
                                                      startupProbe=startup,
                                                      livenessProbe=liveness)]))
        await node.wait_for("slow", lambda s: s["phase"] == "Running")
        await node.wait(20)
        app = node.container("slow", "app")
        assert state(app) == "running" and not app["started"] and not app["ready"]
        assert not any(cmd == ["alive"] for _, cmd in node.runtime.execs), \
            "liveness waits for the startup probe"
        started["now"] = True
        await node.wait_for("slow", lambda s: of(s, "app")["started"]
                            and conditions(s)["Ready"] == "True", within=10)
        await node.wait(10)
        assert any(cmd == ["alive"] for _, cmd in node.runtime.execs)

    on_fake_node(tmp_path, scenario)


def test_a_startup_probe_that_never_succeeds_restarts_the_container(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        node.runtime.on_exec = lambda name, cmd: 1
        startup = {"exec": {"command": ["startup"]}, "periodSeconds": 1, "failureThreshold": 5}
        node.run_pod(make_pod("never-up", [make_container("app", ["sleep", "10000"],
                                                          startupProbe=startup)],
                              terminationGracePeriodSeconds=1))
        await node.wait_for("never-up",
                            lambda s: of(s, "app")["restartCount"] >= 1,
                            within=60)

    on_fake_node(tmp_path, scenario)


def test_deletion_runs_pre_stop_then_stops_within_the_grace_period(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        pre_stop = {"preStop": {"exec": {"command": ["sh", "-c", "sleep 4"]}}}
        graceful = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
        worker = node.run_pod(make_pod("bye", [
            make_container("app", graceful, lifecycle=pre_stop),
            make_container("stubborn", ["sleep", "10000"])],
            terminationGracePeriodSeconds=20))
        await node.wait_for("bye", lambda s: s["phase"] == "Running")
        began = node.loop.time()
        node.delete("bye")
        await worker.done.wait()
        took = node.loop.time() - began
        assert ("app", ["sh", "-c", "sleep 4"]) in node.runtime.execs
        stops = dict(node.runtime.stops)
        assert 15 <= stops["app"] <= 16, "what is left of the grace period after preStop"
        assert 19 <= stops["stubborn"] <= 20
        assert 19 <= took <= 22, "the stubborn container is killed when the grace period ends"
        assert node.runtime.sandboxes == {} and node.runtime.containers == {}
        assert node.client.deleted == [("default", "bye", 0)]
        assert ("teardown", next(iter(s for op, s in node.network.calls if op == "setup"))) \
            in node.network.calls

    on_fake_node(tmp_path, scenario)


def test_a_pre_stop_sleep_hook_waits_before_the_signal(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        graceful = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
        worker = node.run_pod(make_pod("nap", [make_container(
            "app", graceful, lifecycle={"preStop": {"sleep": {"seconds": 7}}})]))
        await node.wait_for("nap", lambda s: s["phase"] == "Running")
        began = node.loop.time()
        node.delete("nap", grace_period=30)
        await worker.done.wait()
        assert 7 <= node.loop.time() - began <= 8
        assert 22 <= dict(node.runtime.stops)["app"] <= 23

    on_fake_node(tmp_path, scenario)


def test_sidecars_start_before_the_app_and_stop_after_it(tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        graceful = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
        worker = node.run_pod(make_pod("side", [make_container("app", graceful)],
                                       initContainers=[
                                           make_container("proxy", graceful,
                                                          restartPolicy="Always"),
                                           make_container("setup", ["true"])]))
        status = await node.wait_for("side", lambda s: s["phase"] == "Running"
                                     and conditions(s)["Ready"] == "True")
        assert state(node.container("side", "proxy")) == "running"
        assert node.runtime.started_names() == ["proxy", "setup", "app"]
        assert conditions(status)["Initialized"] == "True"
        node.delete("side")
        await worker.done.wait()
        assert [name for name, _ in node.runtime.stops] == ["app", "proxy"]

    on_fake_node(tmp_path, scenario)


def test_a_dead_sandbox_is_replaced_and_containers_keep_counting_restarts(
        tmp_path: Path) -> None:
    async def scenario(node: FakeNode) -> None:
        node.run_pod(make_pod("phoenix", [make_container("app", ["sleep", "10000"])]))
        await node.wait_for("phoenix", lambda s: s["phase"] == "Running")
        (first,) = node.runtime.sandboxes
        node.runtime.kill_sandbox(first)
        status = await node.wait_for("phoenix", lambda s: s.get("podIP") == "10.88.0.3"
                                     and state(s["containerStatuses"][0]) == "running",
                                     within=60)
        assert first not in node.runtime.sandboxes
        assert len(node.runtime.sandboxes) == 1
        assert node.container("phoenix", "app")["restartCount"] == 1
        assert status["phase"] == "Running"

    on_fake_node(tmp_path, scenario)
