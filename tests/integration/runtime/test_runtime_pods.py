"""Pods on real runc: sandboxes, shared localhost, overrides, exits, logs, exec, cleanup."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from berth.host.cgroups import existing_cgroup_dirs
from berth.node.runtime import OCIRuntimeService
from berth.node.runtime.errors import (
    CreateContainerError,
    ExecTimeout,
    ImageNotFound,
    NotFound,
)
from berth.node.runtime.protocol import (
    ContainerConfig,
    ContainerFilter,
    ContainerMetadata,
    ContainerState,
    LinuxContainerResources,
    LinuxPodSandboxConfig,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxNetworkStatus,
    SandboxState,
)
from berth.testing.cri import container, pod_config, wait_state

pytestmark = pytest.mark.root

CRI_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) ([FP]) (.*)$")


async def run(service: OCIRuntimeService, sid: str, pod: PodSandboxConfig,
              config: ContainerConfig) -> str:
    cid = await service.create_container(sid, config, pod)
    await service.start_container(cid)
    return cid


def log_lines(path: str) -> list[tuple[str, str, str]]:
    lines = []
    for raw in Path(path).read_text().splitlines():
        match = CRI_LINE.match(raw)
        assert match, f"not a CRI log line: {raw!r}"
        lines.append((match.group(1), match.group(2), match.group(3)))
    return lines


async def test_two_containers_share_localhost_and_the_pod_hostname(
        runtime: OCIRuntimeService) -> None:
    pod = pod_config("web-1", labels={"app": "web"})
    sid = await runtime.run_pod_sandbox(pod)
    server = await run(runtime, sid, pod, container(
        "server", ["sh", "-c", "echo hello-from-httpd > /tmp/index.html; "
                   "exec httpd -f -p 80 -h /tmp"]))
    client = await run(runtime, sid, pod, container(
        "client", ["sh", "-c", "hostname; for i in $(seq 50); do "
                   "wget -qO- http://127.0.0.1:80/ && exit 0; sleep 0.1; done; exit 1"]))
    await wait_state(runtime, client, ContainerState.EXITED)
    status = await runtime.container_status(client)
    assert (status.exit_code, status.reason) == (0, "Completed")
    assert [line[2] for line in log_lines(status.log_path)] == ["web-1", "hello-from-httpd"]
    assert (await runtime.container_status(server)).state == ContainerState.RUNNING
    sandbox = await runtime.pod_sandbox_status(sid)
    assert sandbox.state == SandboxState.READY
    assert sandbox.netns_path.startswith(f"/run/netns/berth-{runtime.node_name}-")
    hosts = await runtime.exec_sync(server, ["cat", "/etc/hosts", "/etc/hostname"], 5)
    assert b"127.0.0.1\tlocalhost" in hosts.stdout and hosts.stdout.endswith(b"web-1\n")


async def test_command_args_env_and_workdir_override_the_image(
        runtime: OCIRuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    # busybox's image says Cmd ["sh"]: args replace Cmd, command replaces Entrypoint.
    only_args = await run(runtime, sid, pod, ContainerConfig(
        metadata=ContainerMetadata("args"), image="docker.io/library/busybox:latest",
        args=["echo", "from-args"]))
    full = await run(runtime, sid, pod, container(
        "full", ["sh", "-c"], args=['echo "$GREETING $(pwd) $PATH"'],
        envs={"GREETING": "hi"}, working_dir="/tmp"))
    for cid in (only_args, full):
        await wait_state(runtime, cid, ContainerState.EXITED)
    assert log_lines((await runtime.container_status(only_args)).log_path) == [
        ("stdout", "F", "from-args")]
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert log_lines((await runtime.container_status(full)).log_path) == [
        ("stdout", "F", f"hi /tmp {path}")]


async def test_exit_code_and_reason_of_a_failing_container(runtime: OCIRuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    cid = await run(runtime, sid, pod, container("fail", ["sh", "-c", "echo oops >&2; exit 7"]))
    await wait_state(runtime, cid, ContainerState.EXITED)
    status = await runtime.container_status(cid)
    assert (status.exit_code, status.reason) == (7, "Error")
    assert status.created_at <= status.started_at <= status.finished_at
    assert log_lines(status.log_path) == [("stderr", "F", "oops")]


async def test_bad_command_or_image_fails_create_and_leaves_nothing(
        runtime: OCIRuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    with pytest.raises(CreateContainerError, match="no-such-binary"):
        await runtime.create_container(sid, container("bad", ["no-such-binary"]), pod)
    with pytest.raises(ImageNotFound, match="nosuchimage"):
        await runtime.create_container(sid, container("bad", ["true"], image="nosuchimage"),
                                       pod)
    assert await runtime.list_containers() == []
    assert list(runtime.state.containers.iterdir()) == []
    assert str(runtime.state.containers) not in Path("/proc/self/mountinfo").read_text()


async def test_logs_are_in_cri_format_with_partial_lines(runtime: OCIRuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    script = "printf 'one\\ntwo\\n'; echo to-stderr >&2; head -c 20000 /dev/zero | tr '\\0' x"
    cid = await run(runtime, sid, pod, container("logger", ["sh", "-c", script]))
    await wait_state(runtime, cid, ContainerState.EXITED)
    lines = log_lines((await runtime.container_status(cid)).log_path)
    assert ("stdout", "F", "one") in lines and ("stdout", "F", "two") in lines
    assert ("stderr", "F", "to-stderr") in lines
    long = [line for line in lines if line[2].startswith("x")]
    assert [tag for _, tag, _ in long] == ["P", "F"]
    assert "".join(text for _, _, text in long) == "x" * 20000


async def test_exec_sync_returns_exit_code_and_output(runtime: OCIRuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    cid = await run(runtime, sid, pod, container("sleeper", ["sleep", "1000"]))
    result = await runtime.exec_sync(cid, ["sh", "-c", "echo out; echo err >&2; exit 4"], 10)
    assert (result.exit_code, result.stdout, result.stderr) == (4, b"out\n", b"err\n")
    with pytest.raises(NotFound):
        await runtime.exec_sync("f" * 64, ["true"])
    with pytest.raises(ExecTimeout, match=r"timed out after 0\.3 s"):
        await runtime.exec_sync(cid, ["sleep", "77"], 0.3)
    left = await runtime.exec_sync(cid, ["sh", "-c", "cat /proc/[0-9]*/cmdline"], 5)
    assert b"77" not in left.stdout, "the timed-out exec is still running"


async def test_shared_process_namespace_makes_pause_pid_1(runtime: OCIRuntimeService) -> None:
    pod = pod_config(linux=LinuxPodSandboxConfig(share_process_namespace=True))
    sid = await runtime.run_pod_sandbox(pod)
    shared = await run(runtime, sid, pod, container("a", ["sleep", "1000"]))
    result = await runtime.exec_sync(shared, ["cat", "/proc/1/cmdline"], 5)
    assert result.stdout.rstrip(b"\0") == b"/pause"
    own = pod_config()
    own_sid = await runtime.run_pod_sandbox(own)
    alone = await run(runtime, own_sid, own, container("b", ["sleep", "1000"]))
    result = await runtime.exec_sync(alone, ["cat", "/proc/1/cmdline"], 5)
    assert result.stdout.rstrip(b"\0") == b"sleep\x001000"


async def test_memory_limit_ends_oomkilled(runtime: OCIRuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    hog = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"
    cid = await run(runtime, sid, pod, container(
        "hog", ["sh", "-c", hog],
        resources=LinuxContainerResources(memory_limit_in_bytes=16 << 20)))
    await wait_state(runtime, cid, ContainerState.EXITED, timeout=30)
    status = await runtime.container_status(cid)
    assert status.reason == "OOMKilled"
    assert status.exit_code == 137


async def test_reopen_log_writes_to_a_new_file(runtime: OCIRuntimeService) -> None:
    pod = pod_config()
    sid = await runtime.run_pod_sandbox(pod)
    cid = await run(runtime, sid, pod, container(
        "ticker", ["sh", "-c", "while true; do echo tick; sleep 0.05; done"]))
    log = Path((await runtime.container_status(cid)).log_path)
    await asyncio.sleep(0.3)
    log.rename(log.with_suffix(".1"))
    await runtime.reopen_container_log(cid)
    await asyncio.sleep(0.3)
    assert log.exists() and ("stdout", "F", "tick") in log_lines(str(log))
    assert ("stdout", "F", "tick") in log_lines(str(log.with_suffix(".1")))


async def test_stop_and_remove_leave_no_mounts_netns_processes_or_cgroups(
        runtime: OCIRuntimeService) -> None:
    pod = pod_config(labels={"app": "gone"})
    sid = await runtime.run_pod_sandbox(pod)
    cid = await run(runtime, sid, pod, container("sleeper", ["sleep", "1000"]))
    sandbox = await runtime.pod_sandbox_status(sid)
    status = await runtime.container_status(cid)
    pids = [sandbox.pid, status.pid]
    await runtime.stop_pod_sandbox(sid)
    assert (await runtime.pod_sandbox_status(sid)).state == SandboxState.NOTREADY
    assert (await runtime.container_status(cid)).state == ContainerState.EXITED
    assert not os.path.exists(sandbox.netns_path)
    await runtime.remove_pod_sandbox(sid)
    await runtime.remove_pod_sandbox(sid)  # removing twice is fine
    assert await runtime.list_pod_sandbox() == []
    assert await runtime.list_containers() == []
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)
    assert str(runtime.state.root) not in Path("/proc/self/mountinfo").read_text()
    # no cgroup in any hierarchy, the hybrid layout's cgroup2 mount ("unified") included
    pod_cgroup = f"/berth/{runtime.node_name}/pod{pod.metadata.uid}"
    assert existing_cgroup_dirs(pod_cgroup) == []
    assert not list(Path("/sys/fs/cgroup").glob(f"*{pod_cgroup}"))


async def test_list_filters_by_labels_state_and_sandbox(runtime: OCIRuntimeService) -> None:
    web = pod_config("web", labels={"app": "web"})
    db = pod_config("db", labels={"app": "db"})
    web_id = await runtime.run_pod_sandbox(web)
    db_id = await runtime.run_pod_sandbox(db)
    running = await run(runtime, web_id, web, container("s", ["sleep", "1000"],
                                                        labels={"tier": "front"}))
    created = await runtime.create_container(db_id, container("c", ["true"]), db)
    found = await runtime.list_pod_sandbox(PodSandboxFilter(label_selector={"app": "db"}))
    assert [s.id for s in found] == [db_id]
    by_label = await runtime.list_containers(ContainerFilter(label_selector={"tier": "front"}))
    assert [c.id for c in by_label] == [running]
    by_state = await runtime.list_containers(ContainerFilter(state=ContainerState.CREATED))
    assert [c.id for c in by_state] == [created]
    by_sandbox = await runtime.list_containers(ContainerFilter(pod_sandbox_id=db_id))
    assert [c.id for c in by_sandbox] == [created]


@pytest.mark.skipif(shutil.which("crun") is None, reason="needs crun (apt-get install crun)")
async def test_crun_runs_the_same_pod(runtime_env: Any) -> None:  # conftest.RuntimeEnv
    runtime_env.runtime_name = "crun"
    service = runtime_env.open()
    pod = pod_config("crun-pod")
    sid = await service.run_pod_sandbox(pod)
    server = await run(service, sid, pod, container(
        "server", ["sh", "-c", "echo via-crun > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]))
    result = await service.exec_sync(server, ["sh", "-c", "sleep 0.2; hostname; "
                                              "wget -qO- http://127.0.0.1:80/"], 10)
    assert result.stdout == b"crun-pod\nvia-crun\n"
    await service.remove_pod_sandbox(sid)
    assert await service.list_containers() == []


class RecordingNetwork:
    """A network hook that checks the netns exists when called and records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []

    async def setup(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                    ) -> PodSandboxNetworkStatus:
        self.calls.append(("setup", sandbox_id, os.path.exists(netns_path)))
        return PodSandboxNetworkStatus(ip="10.244.7.9")

    async def teardown(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                       ) -> None:
        self.calls.append(("teardown", sandbox_id, os.path.exists(netns_path)))


async def test_network_hook_runs_once_the_netns_exists(runtime_env: Any) -> None:
    network = RecordingNetwork()
    service = OCIRuntimeService(runtime_env.root, runtime_env.run_root, runtime_env.images,
                                node_name=runtime_env.node, network=network)
    pod = pod_config("netpod")
    sid = await service.run_pod_sandbox(pod)
    assert (await service.pod_sandbox_status(sid)).network.ip == "10.244.7.9"
    cid = await run(service, sid, pod, container("c", ["sleep", "1000"]))
    hosts = await service.exec_sync(cid, ["cat", "/etc/hosts"], 5)
    assert b"10.244.7.9\tnetpod\n" in hosts.stdout
    await service.stop_pod_sandbox(sid)
    await service.stop_pod_sandbox(sid)  # a second stop does not tear down twice
    assert network.calls == [("setup", sid, True), ("teardown", sid, True)]


async def test_pause_reaps_orphans_in_a_shared_pid_namespace(runtime: OCIRuntimeService) -> None:
    pod = pod_config(linux=LinuxPodSandboxConfig(share_process_namespace=True))
    sid = await runtime.run_pod_sandbox(pod)
    # The subshell exits at once, so its sleep is orphaned to PID 1 (pause) and ends soon.
    cid = await run(runtime, sid, pod, container(
        "orphaner", ["sh", "-c", "(sleep 0.1 &); exec sleep 1000"]))
    await asyncio.sleep(0.6)
    states = await runtime.exec_sync(cid, ["sh", "-c", "cat /proc/[0-9]*/stat"], 5)
    fields = [line.rsplit(b")", 1)[1].split()[0] for line in states.stdout.splitlines()]
    assert fields and b"Z" not in fields
