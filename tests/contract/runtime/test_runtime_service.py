"""The RuntimeService contract: the fake and OCIRuntimeService on runc answer alike.

Containers say what they do with busybox command lines, which run for real
on runc and are read by the fake (`berth.testing.fakes.programs`): the
states, exit codes, reasons, errors and filters a node agent relies on must
be the same on both.
"""

from __future__ import annotations

import asyncio

import pytest

from berth.node.runtime.errors import (
    CreateContainerError,
    ExecTimeout,
    ImageNotFound,
    InvalidConfig,
    NotFound,
    SandboxNotReady,
)
from berth.node.runtime.protocol import (
    ContainerConfig,
    ContainerFilter,
    ContainerMetadata,
    ContainerState,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxMetadata,
    PodSandboxNetworkStatus,
    RuntimeService,
    SandboxState,
)
from berth.testing.cri import container, pod_config, wait_state
from tests.contract.runtime.conftest import Runtimes

TRAP = "trap 'exit 0' TERM; while true; do sleep 0.05; done"


async def run(rt: RuntimeService, sid: str, pod: PodSandboxConfig,
              config: ContainerConfig) -> str:
    cid = await rt.create_container(sid, config, pod)
    await rt.start_container(cid)
    return cid


async def test_a_sandbox_is_ready_listed_by_labels_then_stopped_and_removed(
        runtime: RuntimeService) -> None:
    pod = pod_config("web-1", labels={"app": "web"}, annotations={"note": "x"})
    sid = await runtime.run_pod_sandbox(pod)
    status = await runtime.pod_sandbox_status(sid)
    assert (status.id, status.state, status.metadata) == (sid, SandboxState.READY,
                                                          pod.metadata)
    assert (status.labels, status.annotations) == ({"app": "web"}, {"note": "x"})
    assert status.pid > 0 and status.created_at > 0
    other = await runtime.run_pod_sandbox(pod_config("db", labels={"app": "db"}))
    found = await runtime.list_pod_sandbox(PodSandboxFilter(label_selector={"app": "web"}))
    assert [s.id for s in found] == [sid]
    assert [s.id for s in await runtime.list_pod_sandbox(PodSandboxFilter(id=sid[:12]))] == [
        sid]
    await runtime.stop_pod_sandbox(sid)
    assert (await runtime.pod_sandbox_status(sid)).state == SandboxState.NOTREADY
    notready = await runtime.list_pod_sandbox(PodSandboxFilter(state=SandboxState.NOTREADY))
    assert [s.id for s in notready] == [sid]
    await runtime.remove_pod_sandbox(sid)
    await runtime.remove_pod_sandbox(sid)  # removing twice is fine
    assert [s.id for s in await runtime.list_pod_sandbox()] == [other]
    with pytest.raises(NotFound):
        await runtime.pod_sandbox_status(sid)


async def test_a_sandbox_config_without_uid_is_invalid(runtime: RuntimeService) -> None:
    bad = PodSandboxConfig(metadata=PodSandboxMetadata(name="x", namespace="default", uid=""))
    with pytest.raises(InvalidConfig, match=r"metadata\.uid"):
        await runtime.run_pod_sandbox(bad)


async def test_exit_codes_reasons_and_times_of_finished_containers(
        runtime: RuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    failed = await run(runtime, sid, pod, container("fail", ["sh", "-c", "exit 7"]))
    done = await run(runtime, sid, pod, container("done", ["true"]))
    for cid in (failed, done):
        await wait_state(runtime, cid, ContainerState.EXITED)
    status = await runtime.container_status(failed)
    assert (status.exit_code, status.reason, status.pid) == (7, "Error", 0)
    assert 0 < status.created_at <= status.started_at <= status.finished_at
    assert status.metadata == ContainerMetadata(name="fail")
    assert status.image_ref.startswith("sha256:")
    status = await runtime.container_status(done)
    assert (status.exit_code, status.reason) == (0, "Completed")


async def test_created_running_and_listed_with_filters(runtime: RuntimeService) -> None:
    web, db = pod_config("web", labels={"app": "web"}), pod_config("db", labels={"app": "db"})
    web_id, db_id = await runtime.run_pod_sandbox(web), await runtime.run_pod_sandbox(db)
    running = await run(runtime, web_id, web, container("s", ["sleep", "1000"],
                                                        labels={"tier": "front"}))
    created = await runtime.create_container(db_id, container("c", ["true"]), db)
    status = await runtime.container_status(running)
    assert status.state == ContainerState.RUNNING and status.pid > 0
    assert (status.exit_code, status.reason, status.finished_at) == (0, "", 0)
    assert (await runtime.container_status(created)).state == ContainerState.CREATED
    by_label = await runtime.list_containers(ContainerFilter(label_selector={"tier": "front"}))
    assert [c.id for c in by_label] == [running]
    assert by_label[0].labels == {"tier": "front"} and by_label[0].pod_sandbox_id == web_id
    by_state = await runtime.list_containers(ContainerFilter(state=ContainerState.CREATED))
    assert [c.id for c in by_state] == [created]
    by_sandbox = await runtime.list_containers(ContainerFilter(pod_sandbox_id=db_id))
    assert [c.id for c in by_sandbox] == [created]


async def test_stop_is_sigterm_then_sigkill_after_the_timeout(runtime: RuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    graceful = await run(runtime, sid, pod, container("graceful", ["sh", "-c", TRAP]))
    stubborn = await run(runtime, sid, pod, container("stubborn", ["sleep", "1000"]))
    await asyncio.sleep(0.2)
    await runtime.stop_container(graceful, 5)
    status = await runtime.container_status(graceful)
    assert (status.state, status.exit_code, status.reason) == (
        ContainerState.EXITED, 0, "Completed")
    loop = asyncio.get_running_loop()
    began = loop.time()
    await runtime.stop_container(stubborn, 0.5)  # PID 1 without a handler ignores SIGTERM
    assert loop.time() - began >= 0.5
    status = await runtime.container_status(stubborn)
    assert (status.state, status.exit_code, status.reason) == (
        ContainerState.EXITED, 137, "Error")
    await runtime.stop_container(stubborn, 5)  # stopping a stopped container is fine


async def test_create_failures_leave_nothing_behind(runtime: RuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    with pytest.raises(CreateContainerError, match="no-such-binary"):
        await runtime.create_container(sid, container("bad", ["no-such-binary"]), pod)
    with pytest.raises(ImageNotFound, match="nosuchimage"):
        await runtime.create_container(sid, container("bad", ["true"], image="nosuchimage"),
                                       pod)
    with pytest.raises(InvalidConfig, match=r"metadata\.name"):
        await runtime.create_container(sid, container("", ["true"]), pod)
    with pytest.raises(NotFound):
        await runtime.create_container("f" * 64, container("c", ["true"]), pod)
    assert await runtime.list_containers() == []
    await runtime.stop_pod_sandbox(sid)
    with pytest.raises(SandboxNotReady):
        await runtime.create_container(sid, container("late", ["true"]), pod)


async def test_exec_sync_answers_exit_code_and_output_and_times_out(
        runtime: RuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    cid = await run(runtime, sid, pod, container("sleeper", ["sleep", "1000"]))
    result = await runtime.exec_sync(cid, ["sh", "-c", "echo out; echo err >&2; exit 4"], 10)
    assert (result.exit_code, result.stdout, result.stderr) == (4, b"out\n", b"err\n")
    assert (await runtime.exec_sync(cid, ["true"], 5)).exit_code == 0
    with pytest.raises(ExecTimeout, match=r"timed out after 0\.3 s"):
        await runtime.exec_sync(cid, ["sleep", "77"], 0.3)
    with pytest.raises(InvalidConfig):
        await runtime.exec_sync(cid, [], 5)
    with pytest.raises(NotFound):
        await runtime.exec_sync("f" * 64, ["true"])
    await runtime.stop_container(cid, 0)
    with pytest.raises(NotFound, match="not running"):
        await runtime.exec_sync(cid, ["true"], 5)


async def test_stopping_a_sandbox_stops_its_containers_and_remove_removes_them(
        runtime: RuntimeService) -> None:
    pod = pod_config(labels={"app": "gone"})
    sid = await runtime.run_pod_sandbox(pod)
    cid = await run(runtime, sid, pod, container("sleeper", ["sleep", "1000"]))
    await runtime.stop_pod_sandbox(sid)
    status = await runtime.container_status(cid)
    assert (status.state, status.exit_code) == (ContainerState.EXITED, 137)
    await runtime.stop_pod_sandbox(sid)  # twice is fine
    await runtime.remove_pod_sandbox(sid)
    assert await runtime.list_containers() == []
    with pytest.raises(NotFound):
        await runtime.container_status(cid)
    await runtime.remove_container(cid)  # an unknown container: nothing to do


class RecordingNetwork:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def setup(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                    ) -> PodSandboxNetworkStatus:
        self.calls.append(("setup", sandbox_id))
        return PodSandboxNetworkStatus(ip="10.244.7.9")

    async def teardown(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                       ) -> None:
        self.calls.append(("teardown", sandbox_id))


async def test_the_network_hook_gives_the_ip_and_is_torn_down_once(
        runtimes: Runtimes) -> None:
    network = RecordingNetwork()
    service = runtimes.open(network)
    pod = pod_config("netpod")
    sid = await service.run_pod_sandbox(pod)
    status = await service.pod_sandbox_status(sid)
    assert status.network.ip == "10.244.7.9"
    assert status.netns_path.startswith(f"/run/netns/berth-{runtimes.node}-")
    await service.stop_pod_sandbox(sid)
    await service.stop_pod_sandbox(sid)
    assert network.calls == [("setup", sid), ("teardown", sid)]
