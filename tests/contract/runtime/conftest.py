"""The RuntimeService contract's fixtures: the fake, and the real OCI runtime on runc (root).

``runtime`` is parametrized over both. The real one gets its own node name
(netns ``berth-<node>-...``, cgroups ``/berth/<node>``), state under
tmp_path and runc state under /run/berth-test-<node>; its teardown removes
every sandbox and container the test left, then the node's cgroups and runc
root, also when the test failed. Both see the same busybox image.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from berth.node.runtime.protocol import RuntimeService, SandboxNetwork
from berth.testing.fakes.runtime import FakeRuntimeService


@pytest.fixture(scope="session")
def busybox_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from berth.images import ImageStore
    from berth.images.busybox import ensure_busybox_image

    root = tmp_path_factory.mktemp("images")
    ensure_busybox_image(ImageStore(root))
    return root


class Runtimes:
    """Opens the runtime under test, with an optional network hook."""

    def __init__(self, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.kind, self.tmp_path, self.request = kind, tmp_path, request
        self.node = "t" + secrets.token_hex(3)
        self.opened: list[RuntimeService] = []

    def open(self, network: SandboxNetwork | None = None) -> RuntimeService:
        service: RuntimeService
        if self.kind == "fake":
            service = FakeRuntimeService(network=network, node_name=self.node)
        else:
            from berth.images import ImageStore
            from berth.node.runtime import OCIRuntimeService

            images = ImageStore(self.request.getfixturevalue("busybox_root"))
            service = OCIRuntimeService(self.tmp_path / "rt", Path(f"/run/berth-test-{self.node}"),
                                        images, node_name=self.node, network=network)
        self.opened.append(service)
        return service

    async def cleanup(self) -> None:
        for service in self.opened:
            for sandbox in await service.list_pod_sandbox():
                await service.remove_pod_sandbox(sandbox.id)
            for container in await service.list_containers():
                await service.remove_container(container.id)
        if self.kind == "oci":
            from berth.host.cgroups import remove_empty_cgroup, teardown_cgroup_tree

            teardown_cgroup_tree(f"/berth/{self.node}")
            remove_empty_cgroup("/berth")
            shutil.rmtree(f"/run/berth-test-{self.node}", ignore_errors=True)


@pytest.fixture(params=["fake", pytest.param("oci", marks=pytest.mark.root)])
async def runtimes(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runtimes]:
    if request.param == "oci" and os.geteuid() != 0:
        pytest.skip("needs root")
    env = Runtimes(request.param, tmp_path, request)
    try:
        yield env
    finally:
        await env.cleanup()


@pytest.fixture
def runtime(runtimes: Runtimes) -> RuntimeService:
    return runtimes.open()
