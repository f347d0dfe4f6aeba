"""Connectivity probes between berth's namespaces: ICMP echo and a TCP source-address check.

Used by the tests, ``bench/net.py`` and ``berth status``, these open their
sockets inside a named namespace (``netns.entered``: only the calling thread
switches, and the socket stays bound to the namespace after switching back)
and send only to the address they are given, which callers take from berth's
own namespaces.  ``ping`` returns the round-trip time in seconds or None;
``tcp_source_seen`` starts a one-shot listener in one namespace, connects from
another and returns the peer address the listener saw (proof of no NAT).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

from berth.host import netns


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(ns: str, address: str, timeout: float = 2.0, seq: int = 1) -> float | None:
    """One ICMP echo from namespace ``ns`` to ``address``: the RTT in seconds, or None."""
    ident = (os.getpid() + threading.get_native_id()) & 0xFFFF
    payload = b"berth-probe" + struct.pack("!d", time.monotonic())
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
    with netns.entered(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    with sock:
        start = time.monotonic()
        sock.sendto(packet, (address, 0))
        deadline = start + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                return None
            ihl = (data[0] & 0x0F) * 4
            kind, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if kind == 0 and rid == ident and rseq == seq and peer[0] == address:
                return time.monotonic() - start
    return None


def wait_ping(ns: str, address: str, timeout: float = 10.0) -> bool:
    """Ping until a reply comes or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(ns, address, timeout=0.5) is not None:
            return True
    return False


def tcp_source_seen(server_ns: str, server_ip: str, client_ns: str,
                    timeout: float = 5.0) -> str:
    """Connect from ``client_ns`` to a listener in ``server_ns``; the source it saw."""
    with netns.entered(server_ns):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((server_ip, 0))
        listener.listen(1)
        listener.settimeout(timeout)
        port = listener.getsockname()[1]
        with netns.entered(client_ns):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with client:
            client.settimeout(timeout)
            client.connect((server_ip, port))
            conn, peer = listener.accept()
            conn.close()
    return str(peer[0])
