"""Fixtures for the runtime tests: a busybox image store and a runtime that cleans up.

``runtime`` gives an ``OCIRuntimeService`` with its own node name (so its
netns ``berth-<node>-...`` and cgroups ``/berth/<node>`` are its own), state
under tmp_path and runc state under /run/berth-test-<node>.  Its teardown
removes every sandbox and container the test left (through a fresh service
instance over the same state, as a restarted agent would), then the node's
cgroups and runc root, also when the test failed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from berth.host.cgroups import remove_empty_cgroup, teardown_cgroup_tree
from berth.images import ImageStore
from berth.images.busybox import ensure_busybox_image
from berth.node.runtime import OCIRuntimeService


@pytest.fixture(scope="session")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    ensure_busybox_image(ImageStore(root))
    return root


@pytest.fixture
def images(image_root: Path) -> ImageStore:
    return ImageStore(image_root)


class RuntimeEnv:
    """Where a test's runtime keeps its state, to open more instances over it."""

    def __init__(self, root: Path, run_root: Path, images: ImageStore, node: str) -> None:
        self.root, self.run_root, self.images, self.node = root, run_root, images, node
        self.runtime_name = "runc"

    def open(self) -> OCIRuntimeService:
        return OCIRuntimeService(self.root, self.run_root, self.images, node_name=self.node,
                                 runtime_name=self.runtime_name)


@pytest.fixture
def runtime_env(tmp_path: Path, images: ImageStore) -> Iterator[RuntimeEnv]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    node = "t" + secrets.token_hex(3)
    env = RuntimeEnv(tmp_path / "rt", Path(f"/run/berth-test-{node}"), images, node)
    try:
        yield env
    finally:
        asyncio.run(_remove_everything(env.open()))
        teardown_cgroup_tree(f"/berth/{node}")
        remove_empty_cgroup("/berth")
        shutil.rmtree(env.run_root, ignore_errors=True)


async def _remove_everything(service: OCIRuntimeService) -> None:
    for sandbox in await service.list_pod_sandbox():
        await service.remove_pod_sandbox(sandbox.id)
    for container in await service.list_containers():
        await service.remove_container(container.id)


@pytest.fixture
async def runtime(runtime_env: RuntimeEnv) -> AsyncIterator[OCIRuntimeService]:
    yield runtime_env.open()

