"""``berth.daemon.services.run_service_plane`` against a real API server, in a node namespace.

What ``berth node --node-netns`` runs: the sysctls, table ``inet berth`` and
the DNS sockets all land in the named namespace, none in the caller's (root)
namespace; the built-in Services are programmed and answered at once;
cancelling stops it cleanly and ``teardown_service_plane`` removes the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import dns.message
import dns.query
import pytest

from berth.client import Client, ClusterConfig
from berth.controllers import ALL_CONTROLLERS
from berth.daemon.server import ServerProcessConfig, start_server_process
from berth.daemon.services import run_service_plane, teardown_service_plane
from berth.host.netns import create_netns, delete_netns, entered
from berth.server import ServerConfig

pytestmark = pytest.mark.root


def sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


@pytest.fixture
def ns() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    name = f"berth-sp{os.getpid()}"
    create_netns(name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        delete_netns(name)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    server = await start_server_process(ServerProcessConfig(
        ServerConfig(data_dir=tmp_path / "server", port=0), controllers=ALL_CONTROLLERS))
    client = Client(ClusterConfig(server=server.url, ca_pem=server.pki.ca_cert.read_bytes(),
                                  token=server.admin_token))
    try:
        yield client
    finally:
        await client.close()
        await server.stop()


def ask(ns: str, name: str, port: int) -> str:
    query = dns.message.make_query(name, "A")
    with entered(ns):
        answer = dns.query.udp(query, "127.0.0.1", port=port, timeout=1)
    return str(answer.answer[0][0]) if answer.answer else ""


async def test_service_plane_runs_inside_the_node_namespace_only(ns: str, api: Client) -> None:
    root_tables = sh("nft", "list", "tables")
    port = 20000 + os.getpid() % 20000
    task = asyncio.create_task(run_service_plane(api, "n1", ["198.18.0.11"], netns=ns,
                                                 dns_port=port))
    try:
        deadline = time.monotonic() + 10
        while "10.96.0.1 . tcp . 443" not in sh("ip", "netns", "exec", ns, "nft", "list",
                                                   "table", "inet", "berth"):
            assert not task.done(), task
            assert time.monotonic() < deadline, "table inet berth not programmed"
            await asyncio.sleep(0.1)
        table = sh("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "berth")
        assert f"redirect to :{port}" in table and "10.96.0.10" in table
        answer = await asyncio.to_thread(ask, ns, "kube-dns.kube-system.svc.cluster.local.",
                                         port)
        assert answer == "10.96.0.10"
        assert sh("ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward") == "1\n"
        assert sh("nft", "list", "tables") == root_tables  # nothing in the root namespace
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    teardown_service_plane("n1", ns)
    assert "berth" not in sh("ip", "netns", "exec", ns, "nft", "list", "tables")
