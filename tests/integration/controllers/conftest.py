"""Fixtures for the controller tests: a real API server (SQLite, TLS) with its controllers.

`cluster` starts `berth.server.start_server` in the test's event loop on a free
loopback port, with a small pod network so exhaustion is reachable, and gives a
`Cluster`: an API client with the admin identity, helpers that create Nodes
(Ready or not, with capacity) and Pods the way a node agent would report them,
and `Cluster.eventually`, which polls a check until it passes or a deadline expires.
No node agents run: tests set node conditions and pod status themselves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from berth.api.resources import Resource, by_key
from berth.client import Client, ClusterConfig
from berth.controllers import ALL_CONTROLLERS
from berth.daemon.server import ServerProcess, ServerProcessConfig, start_server_process
from berth.server import ServerConfig

Obj = dict[str, Any]
T = TypeVar("T")


def res(key: str) -> Resource:
    found = by_key(key)
    assert found is not None
    return found


PODS, NODES, SERVICES = res("pods"), res("nodes"), res("services")
EVENTS, ENDPOINTS = res("events"), res("endpoints")
SLICES, DAEMONSETS = res("endpointslices.discovery.k8s.io"), res("daemonsets.apps")
NAMESPACES = res("namespaces")


def node_obj(name: str, *, cpu: str = "2", memory: str = "4Gi", pods: str = "110",
             ready: bool = True, labels: dict[str, str] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  **(labels or {})}},
            "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": pods},
                       "conditions": [{"type": "Ready",
                                       "status": "True" if ready else "False",
                                       "reason": "KubeletReady"}]}}


def pod_obj(name: str, *, cpu: str | None = None, labels: dict[str, str] | None = None,
            namespace: str = "default", **spec: Any) -> Obj:
    container: Obj = {"name": "main", "image": "busybox"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    if "ports" in spec:
        container["ports"] = spec.pop("ports")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"containers": [container], **spec}}


@dataclass
class Cluster:
    PODS = PODS
    NODES = NODES
    SERVICES = SERVICES
    EVENTS = EVENTS
    ENDPOINTS = ENDPOINTS
    SLICES = SLICES
    DAEMONSETS = DAEMONSETS
    NAMESPACES = NAMESPACES

    server: ServerProcess
    client: Client
    data_dir: Path

    async def add_node(self, name: str, **kwargs: Any) -> Obj:
        return await self.client.create(NODES, node_obj(name, **kwargs))

    async def set_ready(self, name: str, ready: bool) -> None:
        cond = {"type": "Ready", "status": "True" if ready else "False"}
        await self.client.patch(NODES, None, name, {"status": {"conditions": [cond]}},
                                subresource="status")

    async def add_pod(self, name: str, **kwargs: Any) -> Obj:
        obj = pod_obj(name, **kwargs)
        return await self.client.create(PODS, obj, obj["metadata"]["namespace"])

    async def run_pod(self, namespace: str, name: str, ip: str, ready: bool = True) -> None:
        """Report a pod the way its node agent would: Running, with an IP and readiness."""
        status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                  "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
        await self.client.patch(PODS, namespace, name, {"status": status},
                                subresource="status")

    async def get(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        return await self.client.get(resource, namespace, name)

    async def items(self, resource: Resource, namespace: str | None = None, **kw: Any) -> \
            list[Obj]:
        return list((await self.client.list(resource, namespace, **kw)).get("items") or [])

    async def events(self, reason: str) -> list[Obj]:
        return [e for e in await self.items(EVENTS) if e.get("reason") == reason]

    @staticmethod
    async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 5.0) -> T:
        """Run `check` until it passes (returning its value) or time is up (its error)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return await check()
            except (AssertionError, LookupError, ValueError):  # not there yet
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.05)


async def start_cluster(data_dir: Path, **config: Any) -> Cluster:
    controllers = config.pop("controllers", ALL_CONTROLLERS)
    server = await start_server_process(ServerProcessConfig(
        ServerConfig(data_dir=data_dir, port=0, **config), controllers=controllers))
    client = Client(ClusterConfig(server=server.url, ca_pem=server.pki.ca_cert.read_bytes(),
                                  token=server.admin_token))
    return Cluster(server, client, data_dir)


async def stop_cluster(cluster: Cluster) -> None:
    await cluster.client.close()
    await cluster.server.stop()


@pytest.fixture
def restartable(tmp_path: Path) -> Callable[..., Awaitable[Cluster]]:
    """Start (or restart) a cluster on one data directory; the test stops it."""
    async def start(**config: Any) -> Cluster:
        return await start_cluster(tmp_path / "server", **config)
    return start


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    running = await start_cluster(tmp_path / "server", cluster_cidr="10.244.0.0/23",
                                  service_cidr="10.96.0.0/28")
    try:
        yield running
    finally:
        await stop_cluster(running)
