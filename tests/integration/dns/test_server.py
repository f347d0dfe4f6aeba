"""The cluster DNS server answering real UDP and TCP queries on 127.0.0.1 (dnspython client)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import pytest

from berth.dns import ClusterDNS, ServeFailed

Obj = dict[str, Any]
WEB = {"metadata": {"name": "web", "namespace": "prod"},
       "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80}]}}
BIG = {"metadata": {"name": "big", "namespace": "prod"}, "spec": {"clusterIP": "None"}}
BIG_SLICE = {"metadata": {"name": "big-1", "namespace": "prod",
                          "labels": {"kubernetes.io/service-name": "big"}},
             "addressType": "IPv4", "ports": [],
             "endpoints": [{"addresses": [f"10.244.1.{i}"], "conditions": {"ready": True}}
                           for i in range(2, 80)]}


class Feed:
    """A snapshot source the test pushes to."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[list[Obj], list[Obj]]] = asyncio.Queue()

    async def snapshots(self) -> AsyncIterator[tuple[list[Obj], list[Obj]]]:
        while True:
            yield await self.queue.get()


@pytest.fixture
async def server() -> AsyncIterator[tuple[ClusterDNS, Feed]]:
    feed = Feed()
    srv = ClusterDNS(host="127.0.0.1", port=0, source=feed)
    task = asyncio.create_task(srv.run())
    await feed.queue.put(([WEB, BIG], [BIG_SLICE]))
    for _ in range(100):
        if srv._udp is not None and srv.index.a:
            break
        await asyncio.sleep(0.01)
    try:
        yield srv, feed
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_udp_and_tcp_answer_a_service(server: tuple[ClusterDNS, Feed]) -> None:
    srv, _ = server
    query = dns.message.make_query("web.prod.svc.cluster.local", "A")
    for send in (dns.asyncquery.udp, dns.asyncquery.tcp):
        response = await send(query, "127.0.0.1", port=srv.port, timeout=2)
        assert response.rcode() == dns.rcode.NOERROR
        assert [r.to_text() for r in response.answer[0]] == ["10.96.0.20"]


async def test_updates_are_served_at_once(server: tuple[ClusterDNS, Feed]) -> None:
    srv, feed = server
    moved = {**WEB, "spec": {**WEB["spec"], "clusterIP": "10.96.0.21"}}
    await feed.queue.put(([moved], []))
    await asyncio.sleep(0.05)
    query = dns.message.make_query("web.prod.svc.cluster.local", "A")
    response = await dns.asyncquery.udp(query, "127.0.0.1", port=srv.port, timeout=2)
    assert [r.to_text() for r in response.answer[0]] == ["10.96.0.21"]
    gone = await dns.asyncquery.udp(dns.message.make_query("big.prod.svc.cluster.local", "A"),
                                    "127.0.0.1", port=srv.port, timeout=2)
    assert gone.rcode() == dns.rcode.NXDOMAIN


async def test_large_answer_is_truncated_over_udp_and_whole_over_tcp(
        server: tuple[ClusterDNS, Feed]) -> None:
    srv, _ = server
    query = dns.message.make_query("big.prod.svc.cluster.local", "A", use_edns=False)
    udp = await dns.asyncquery.udp(query, "127.0.0.1", port=srv.port, timeout=2,
                                   ignore_trailing=True)
    assert udp.flags & dns.flags.TC
    tcp = await dns.asyncquery.tcp(query, "127.0.0.1", port=srv.port, timeout=2)
    assert len(tcp.answer[0]) == 78


async def test_outside_names_refused_and_garbage_gets_formerr(
        server: tuple[ClusterDNS, Feed]) -> None:
    srv, _ = server
    query = dns.message.make_query("example.org", "A")
    response = await dns.asyncquery.udp(query, "127.0.0.1", port=srv.port, timeout=2)
    assert response.rcode() == dns.rcode.REFUSED
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(b"\x12\x34" + b"\xff" * 20, ("127.0.0.1", srv.port))
        data = await asyncio.get_running_loop().run_in_executor(None, sock.recv, 512)
    assert data[:2] == b"\x12\x34"
    assert data[3] & 0x0F == dns.rcode.FORMERR


async def test_port_in_use_is_a_clear_error(server: tuple[ClusterDNS, Feed]) -> None:
    srv, _ = server
    other = ClusterDNS(host="127.0.0.1", port=srv.port)
    with pytest.raises(ServeFailed, match=f"127.0.0.1:{srv.port}"):
        await other.start()
