"""Fixtures for CNI tests on the real kernel: throwaway namespaces and traffic checks.

Every namespace is named ``berth-t-<random>-<role>`` and removed in ``finally``,
also when the test fails; the "node" namespace holds the bridge, so nothing
is created in the root namespace.  Traffic (ICMP echo, TCP) is sent only
between the test's own namespaces.
"""

from __future__ import annotations

import os
import secrets
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from berth.host import netns
from berth.host.netlink import Netlink

BIN_DIRS = [str(Path(sys.executable).parent), "/usr/lib/cni"]
MakeNetns = Callable[[str], str]


@pytest.fixture
def make_netns() -> Iterator[MakeNetns]:
    tag = secrets.token_hex(3)
    created: list[str] = []

    def make(role: str) -> str:
        name = f"berth-t-{tag}-{role}"
        path = netns.create_netns(name)
        created.append(name)
        return path

    try:
        yield make
    finally:
        for name in reversed(created):
            netns.delete_netns(name)


@pytest.fixture
def node(make_netns: MakeNetns) -> str:
    """A node namespace with lo up; plugins run inside it."""
    path = make_netns("node")
    with Netlink.open(path) as nl:
        nl.set_up(nl.require_link("lo").index)
    return path


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(ns: str, address: str, timeout: float = 2.0) -> bool:
    """One ICMP echo from namespace ``ns`` to ``address``; True if the reply came."""
    ident = os.getpid() & 0xFFFF
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    payload = b"berth-ping"
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, 1) + payload
    with netns.entered(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    with sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (address, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                return False
            ihl = (data[0] & 0x0F) * 4
            kind, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if peer[0] == address and kind == 0 and rid == ident:
                return True
    return False


def tcp_roundtrip(server_ns: str, server_ip: str, client_ns: str, port: int = 5201) -> bytes:
    """Send bytes over TCP from ``client_ns`` to a listener in ``server_ns``; return the echo."""
    family = socket.AF_INET6 if ":" in server_ip else socket.AF_INET
    with netns.entered(server_ns):
        server = socket.create_server((server_ip, port), family=family)
    with server:
        server.settimeout(3)
        with netns.entered(client_ns):
            client = socket.create_connection((server_ip, port), timeout=3)
        with client:
            conn, _ = server.accept()
            with conn:
                client.sendall(b"hello berth")
                conn.sendall(conn.recv(64).upper())
                return client.recv(64)
