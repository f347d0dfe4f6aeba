"""``OCIRuntimeService.exec_tty`` on runc and crun: a real terminal in the container."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest

from berth.node.runtime.protocol import (
    ContainerConfig,
    ContainerMetadata,
    PodSandboxConfig,
    PodSandboxMetadata,
)

pytestmark = [pytest.mark.root]


@pytest.mark.parametrize("name", ["runc", "crun"])
async def test_exec_tty_gives_a_pts_the_size_the_env_and_the_exit_code(
        runtime_env: Any, name: str) -> None:  # conftest.RuntimeEnv
    if shutil.which(name) is None:
        pytest.skip(f"needs {name}")
    runtime_env.runtime_name = name
    service = runtime_env.open()
    pod = PodSandboxConfig(metadata=PodSandboxMetadata("tty-pod", "default", f"uid-tty-{name}"))
    sid = await service.run_pod_sandbox(pod)
    cid = await service.create_container(sid, ContainerConfig(
        metadata=ContainerMetadata("main"), image="busybox", command=["sleep", "600"],
        envs={"GREETING": "hi"}), pod)
    await service.start_container(cid)
    term = await service.exec_tty(
        cid, ["sh", "-c", "tty; stty size; echo $TERM $GREETING; read x; echo got-$x; exit 6"],
        (77, 22))
    out = b""
    try:
        async with asyncio.timeout(20):
            while b"xterm" not in out:
                out += await term.read()
            await term.write(b"typed\n")
            while chunk := await term.read():
                out += chunk
            assert await term.wait() == 6
    finally:
        term.kill()
        term.close()
    assert out.startswith(b"/dev/pts/0\r\n22 77\r\nxterm hi\r\n"), out
    assert b"got-typed\r\n" in out
    await service.remove_pod_sandbox(sid)
