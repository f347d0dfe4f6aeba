"""The agent can die: containers keep running and a new service instance rebuilds the view."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from berth.node.runtime import OCIRuntimeService
from berth.node.runtime.protocol import (
    ContainerState,
    PodSandboxConfig,
    PodSandboxMetadata,
    SandboxState,
)

pytestmark = pytest.mark.root

AGENT = """
import asyncio, json, sys, time
from pathlib import Path
from typing import Any
from berth.images import ImageStore
from berth.node.runtime import OCIRuntimeService
from berth.node.runtime import OCIRuntimeService
from berth.node.runtime.protocol import (ContainerConfig, ContainerMetadata, PodSandboxConfig,
                                         PodSandboxMetadata)

async def main() -> None:
    root, run_root, images, node = sys.argv[1:5]
    service = OCIRuntimeService(Path(root), Path(run_root), ImageStore(Path(images)),
                                node_name=node)
    pod = PodSandboxConfig(metadata=PodSandboxMetadata("survivor", "default", "u-123456"),
                           labels={"berth.io/pod": "survivor"})
    sid = await service.run_pod_sandbox(pod)
    cid = await service.create_container(sid, ContainerConfig(
        metadata=ContainerMetadata("ticker"), image="busybox",
        command=["sh", "-c", "trap 'exit 0' TERM; while true; do echo tick; sleep 0.05; done"],
        labels={"berth.io/container": "ticker"}), pod)
    await service.start_container(cid)
    print(json.dumps({"sandbox": sid, "container": cid}), flush=True)
    time.sleep(3600)

asyncio.run(main())
"""


async def test_sigkill_of_the_agent_leaves_pods_running_and_state_rebuilds(
        runtime_env: Any) -> None:  # conftest.RuntimeEnv
    agent = subprocess.Popen(
        [sys.executable, "-c", AGENT, str(runtime_env.root), str(runtime_env.run_root),
         str(runtime_env.images.root), runtime_env.node],
        stdout=subprocess.PIPE, text=True)
    try:
        assert agent.stdout is not None
        ids = json.loads(agent.stdout.readline())
    finally:
        os.kill(agent.pid, signal.SIGKILL)
        agent.wait()
    service = runtime_env.open()
    sandboxes = await service.list_pod_sandbox()
    assert [(s.id, s.state, s.labels) for s in sandboxes] == [
        (ids["sandbox"], SandboxState.READY, {"berth.io/pod": "survivor"})]
    containers = await service.list_containers()
    assert [(c.id, c.state, c.labels["berth.io/container"]) for c in containers] == [
        (ids["container"], ContainerState.RUNNING, "ticker")]
    log = Path((await service.container_status(ids["container"])).log_path)
    before = log.stat().st_size
    await asyncio.sleep(0.3)
    assert log.stat().st_size > before, "the monitor stopped logging when the agent died"
    result = await service.exec_sync(ids["container"], ["hostname"], 5)
    assert result.stdout == b"survivor\n"
    await service.stop_container(ids["container"], 2)
    status = await service.container_status(ids["container"])
    assert (status.state, status.exit_code, status.reason) == (
        ContainerState.EXITED, 0, "Completed")


async def test_sandbox_overhead_is_under_1_mb_per_pod(runtime: OCIRuntimeService) -> None:
    """pause + its monitor, in PSS (shared pages split among pods), with three pods up."""
    for n in range(3):
        pod = PodSandboxConfig(metadata=PodSandboxMetadata(f"small-{n}", "default", f"u-{n}"))
        await runtime.run_pod_sandbox(pod)
    per_pod = []
    for sandbox in await runtime.list_pod_sandbox():
        status = await runtime.pod_sandbox_status(sandbox.id)
        monitor = runtime._sandboxes[status.id].monitor_pid
        per_pod.append(sum(_pss_kb(pid) for pid in (status.pid, monitor)))
    assert max(per_pod) <= 1024, f"pause + monitor use {per_pod} kB PSS per pod"


def _pss_kb(pid: int) -> int:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return int(next(line for line in text.splitlines() if line.startswith("Pss:")).split()[1])
