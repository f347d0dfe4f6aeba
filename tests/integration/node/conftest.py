"""Fixtures for the node agent's end-to-end tests: a real API server and a real `berth node`.

``cluster`` (one per test module) starts the API server in a thread with its
own event loop on a free loopback port, creates the node's network namespace
``berth-<node>`` (the pods' bridge, veths and IPs live only there), and runs
``berth node`` as a subprocess with CNI and probes entered into that
namespace.  Teardown kills the agent (by its pid), removes every sandbox and
container it left through a fresh runtime over its state, deletes the node
namespace, the node's cgroups and runc root, also when a test failed.
Tests talk to the server with ``berth.client.Client`` and reach pod IPs from
the node namespace with ``in_node_netns``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from berth.api.errors import APIError
from berth.api.resources import by_key
from berth.client import Client, ClientError, load_config
from berth.host import netns
from berth.host.cgroups import remove_empty_cgroup, teardown_cgroup_tree
from berth.host.loopback import set_loopback_up
from berth.host.ports import free_port
from berth.images import ImageStore
from berth.images.busybox import ensure_busybox_image
from berth.node.runtime import OCIRuntimeService
from berth.server import ServerConfig, start_server
from berth.server.run import RunningServer

T = TypeVar("T")
Obj = dict[str, Any]
PODS = by_key("pods")
BERTH = str(Path(sys.executable).with_name("berth"))




@dataclass
class Cluster:
    server_url: str
    kubeconfig: Path
    data_dir: Path
    node: str
    node_netns: str
    root: Path
    run_root: Path
    image_dir: Path
    port: int
    manifests: Path
    agent: subprocess.Popen[bytes] | None = None
    log_file: Path | None = None

    def start_agent(self) -> None:
        assert self.log_file is not None
        log = self.log_file.open("ab")
        self.agent = subprocess.Popen(
            [BERTH, "node", "--name", self.node, "--kubeconfig", str(self.kubeconfig),
             "--root-dir", str(self.root), "--run-dir", str(self.run_root),
             "--image-dir", str(self.image_dir), "--node-netns", self.node_netns,
             "--port", str(self.port), "--pod-manifest-path", str(self.manifests),
             "--api-server-token-file", str(self.data_dir / "pki" / "kubelet-client.token"),
             "--container-log-max-size", "8192", "-v"], stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def kill_agent(self, sig: int = signal.SIGKILL) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.send_signal(sig)
            self.agent.wait(30)
        self.agent = None

    def agent_log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file else ""

    def client(self) -> Client:
        return Client(load_config(str(self.kubeconfig), {}))


def in_node_netns(cluster: Cluster, fn: Callable[[], T]) -> T:
    """Run ``fn`` on a thread inside the node's network namespace (reaching pod IPs)."""
    result: list[Any] = []

    def target() -> None:
        try:
            with netns.entered(cluster.node_netns):
                result.append(("ok", fn()))
        except BaseException as exc:
            result.append(("error", exc))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    kind, value = result[0]
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


def http_get(ip: str, port: int = 80, path: str = "/", timeout: float = 3.0) -> str:
    import http.client

    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode()
    finally:
        conn.close()


@pytest.fixture(scope="session")
def node_image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    ensure_busybox_image(ImageStore(root))
    return root


def _serve(data_dir: Path) -> Iterator[tuple[RunningServer, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            started["server"] = loop.run_until_complete(
                start_server(ServerConfig(data_dir=data_dir, port=0)))
        except BaseException as exc:
            started["error"] = exc
        ready.set()
        if "server" in started:
            loop.run_forever()

    thread = threading.Thread(target=main, name="berth-test-server", daemon=True)
    thread.start()
    ready.wait(60)
    if "error" in started:
        raise started["error"]
    running: RunningServer = started["server"]
    try:
        yield running, loop
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


async def _remove_everything(service: OCIRuntimeService) -> None:
    for sandbox in await service.list_pod_sandbox():
        await service.remove_pod_sandbox(sandbox.id)
    for container in await service.list_containers():
        await service.remove_container(container.id)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, node_image_dir: Path
            ) -> Iterator[Cluster]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    tmp = tmp_path_factory.mktemp("node")
    node = "t" + secrets.token_hex(3)
    node_netns = f"berth-{node}"
    netns.create_netns(node_netns)
    set_loopback_up(netns.netns_path(node_netns))
    run_root = Path(f"/run/berth-test-{node}")
    manifests = tmp / "manifests"
    manifests.mkdir()
    c: Cluster | None = None
    try:
        for running, _loop in _serve(tmp / "server"):
            c = Cluster(server_url=running.url, kubeconfig=running.kubeconfig,
                        data_dir=tmp / "server", node=node, node_netns=node_netns,
                        root=tmp / "agent", run_root=run_root, image_dir=node_image_dir,
                        port=free_port(), manifests=manifests, log_file=tmp / "agent.log")
            c.start_agent()
            try:
                yield c
            finally:
                c.kill_agent()
                print("---- agent log ----\n" + c.agent_log()[-6000:])
    finally:
        if c is not None and (c.root / "runtime").exists():
            asyncio.run(_remove_everything(OCIRuntimeService(
                c.root / "runtime", run_root, ImageStore(node_image_dir), node_name=node)))
        netns.delete_netns(node_netns)
        teardown_cgroup_tree(f"/berth/{node}")
        remove_empty_cgroup("/berth")
        shutil.rmtree(run_root, ignore_errors=True)


@pytest.fixture
async def api(cluster: Cluster) -> AsyncIterator[Client]:
    client = cluster.client()
    try:
        yield client
    finally:
        await client.close()


def pod(name: str, containers: list[Obj], node: str, **spec: Any) -> Obj:
    body: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                 "spec": {"nodeName": node, "containers": containers,
                          "terminationGracePeriodSeconds": 2, **spec}}
    return body


def container(name: str, command: list[str] | None = None, **extra: Any) -> Obj:
    c: Obj = {"name": name, "image": "busybox", **extra}
    if command is not None:
        c["command"] = command
    return c


async def wait_for(api: Client, name: str, check: Callable[[Obj], bool], timeout: float = 20.0,
                   namespace: str = "default") -> Obj:
    """Poll the pod until ``check(pod)``; fails with the last status seen."""
    assert PODS is not None
    deadline = time.monotonic() + timeout
    last: Obj = {}
    while time.monotonic() < deadline:
        try:
            last = await api.get(PODS, namespace, name)
            if check(last):
                return last
        except (APIError, ClientError, KeyError):  # not there yet / being deleted
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"pod {name} never matched; last status: {last.get('status')}")


async def wait_gone(api: Client, name: str, timeout: float = 30.0) -> None:
    from berth.api.errors import NotFound

    assert PODS is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await api.get(PODS, "default", name)
        except NotFound:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"pod {name} was never removed")


def container_status(pod_obj: Obj, name: str, init: bool = False) -> Obj:
    key = "initContainerStatuses" if init else "containerStatuses"
    for s in (pod_obj.get("status") or {}).get(key) or []:
        if s["name"] == name:
            return dict(s)
    return {}


def is_ready(p: Obj) -> bool:
    conds = (p.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def open_runtime(cluster: Cluster) -> OCIRuntimeService:
    """A read-only look at the agent's runtime state (sandboxes, containers, pids)."""
    return OCIRuntimeService(cluster.root / "runtime", cluster.run_root,
                             ImageStore(cluster.image_dir), node_name=cluster.node)


async def container_pid(cluster: Cluster, pod_uid: str, name: str) -> int:
    from berth.node import labels
    from berth.node.runtime.protocol import ContainerFilter, ContainerState

    rt = open_runtime(cluster)
    found = await rt.list_containers(ContainerFilter(label_selector={
        labels.POD_UID: pod_uid, labels.CONTAINER_NAME: name}))
    for c in reversed(found):
        status = await rt.container_status(c.id)
        if status.state == ContainerState.RUNNING:
            return status.pid
    raise AssertionError(f"no running container {name} in pod {pod_uid}")


async def sandbox_ids(cluster: Cluster, pod_uid: str) -> list[str]:
    from berth.node import labels
    from berth.node.runtime.protocol import PodSandboxFilter

    rt = open_runtime(cluster)
    return [s.id for s in await rt.list_pod_sandbox(
        PodSandboxFilter(label_selector={labels.POD_UID: pod_uid}))]
