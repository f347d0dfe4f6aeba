"""Small builders for CRI-shaped configs, shared by the runtime tests of every implementation.

The contract suite (fake and real runtime) and the real runtime's own tests
make sandboxes and containers the same way: ``pod_config`` (a fresh uid each
time), ``container`` (busybox unless told), and ``wait_state`` (poll a
container's state, bounded in time).
"""

from __future__ import annotations

import asyncio
import secrets

from berth.node.runtime.protocol import (
    ContainerConfig,
    ContainerMetadata,
    ContainerState,
    PodSandboxConfig,
    PodSandboxMetadata,
    RuntimeService,
)


def pod_config(name: str = "web", **kwargs: object) -> PodSandboxConfig:
    meta = PodSandboxMetadata(name=name, namespace="default", uid=secrets.token_hex(8))
    return PodSandboxConfig(metadata=meta, **kwargs)  # type: ignore[arg-type]


def container(name: str, command: list[str], image: str = "busybox", **kwargs: object
              ) -> ContainerConfig:
    return ContainerConfig(metadata=ContainerMetadata(name=name), image=image,
                           command=command, **kwargs)  # type: ignore[arg-type]


async def wait_state(runtime: RuntimeService, cid: str, state: ContainerState,
                     timeout: float = 10.0) -> None:
    """Until container ``cid`` is in ``state``; AssertionError after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await runtime.container_status(cid)).state != state:
        assert loop.time() < deadline, f"container never reached {state}"
        await asyncio.sleep(0.05)
