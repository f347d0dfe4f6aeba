"""Services end to end on one node: API server + controllers -> watch -> proxy and DNS -> packets.

A real berth API server (SQLite, with its service IP allocator and EndpointSlice
controller) holds a Service and three pods whose IPs are the ``node`` fixture's
pod namespaces.  One ``ServiceWatch`` feeds both the ``Proxier`` (programming
the node namespace) and ``ClusterDNS`` (listening inside the node namespace on
port 5353, reached by pods at 10.96.0.10:53 through the proxy's redirect).  A
client pod resolves the Service by name and talks to it; a pod made unready
stops getting traffic within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import pytest

from berth.api.resources import Resource, by_key
from berth.client import Client, ClusterConfig
from berth.controllers import ALL_CONTROLLERS
from berth.daemon.server import ServerProcessConfig, start_server_process
from berth.dns import ClusterDNS
from berth.host.netns import entered
from berth.proxy import DNSRedirect, Proxier, ServiceWatch
from berth.server import ServerConfig

pytestmark = pytest.mark.root
Obj = dict[str, Any]


def res(key: str) -> Resource:
    found = by_key(key)
    assert found is not None
    return found


PODS, SERVICES = res("pods"), res("services")


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    server = await start_server_process(ServerProcessConfig(
        ServerConfig(data_dir=tmp_path / "server", port=0, service_cidr="10.96.0.0/24"),
        controllers=ALL_CONTROLLERS))
    client = Client(ClusterConfig(server=server.url, ca_pem=server.pki.ca_cert.read_bytes(),
                                  token=server.admin_token))
    try:
        yield client
    finally:
        await client.close()
        await server.stop()


async def report_pod(client: Client, name: str, ip: str, ready: bool) -> None:
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    await client.patch(PODS, "default", name, {"status": status}, subresource="status")


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncio.to_thread(check)
        except (AssertionError, OSError, dns.exception.DNSException):
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.1)


def dns_sockets(ns: str, port: int) -> tuple[socket.socket, socket.socket]:
    with entered(ns):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("0.0.0.0", port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("0.0.0.0", port))
        tcp.listen(64)
    return udp, tcp


async def test_service_by_name_spreads_and_follows_readiness(node: Any, api: Client) -> None:
    for i in (1, 2, 3):
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"web-{i}", "namespace": "default",
                            "labels": {"app": "web"}},
               "spec": {"nodeName": "n1", "containers": [
                   {"name": "main", "image": "busybox",
                    "ports": [{"name": "http", "containerPort": 8080}]}]}}
        await api.create(PODS, pod, "default")
        await report_pod(api, f"web-{i}", node.pod_ip(i), True)
    await api.create(SERVICES, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}, "default")

    watch = ServiceWatch(api)
    proxy = Proxier("n1", netns=node.node, watch=watch,
                    dns=DNSRedirect("10.96.0.10", 53, 5353))
    server = ClusterDNS(source=watch)
    tasks = [asyncio.create_task(watch.run()), asyncio.create_task(proxy.run()),
             asyncio.create_task(server.run(dns_sockets(node.node, 5353)))]
    client = node.pod_ns(0)
    backends = {node.pod_ip(i) for i in (1, 2, 3)}

    def lookup() -> str:
        query = dns.message.make_query("web.default.svc.cluster.local", "A")
        with entered(client):
            answer = dns.query.udp(query, "10.96.0.10", port=53, timeout=1)
        assert answer.answer, answer
        return str(answer.answer[0][0])

    def spread() -> Counter[str]:
        ip = lookup()
        counts = Counter(node.request(client, ip, 80) for _ in range(150))
        assert set(counts) == backends, counts
        return counts

    try:
        await eventually(spread)
        await report_pod(api, "web-1", node.pod_ip(1), False)
        made_unready = time.monotonic()

        def drained() -> None:
            ip = lookup()
            assert node.pod_ip(1) not in {node.request(client, ip, 80) for _ in range(60)}

        await eventually(drained)
        assert time.monotonic() - made_unready < 1.5
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        proxy.teardown()
