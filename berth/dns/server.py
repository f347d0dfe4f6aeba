"""The cluster DNS server: UDP and TCP on one address, answers from the latest index.

``ClusterDNS`` holds the current ``ClusterIndex`` (rebuilt whole by ``update``
after every change; a few thousand Services take milliseconds) and serves it
with asyncio: a datagram endpoint for UDP and a stream server for TCP
(two-byte length prefix, several queries per connection).  Each query is
parsed and answered by the pure ``respond``; a UDP answer larger than the
client's limit (512 bytes, or its EDNS size) is sent truncated (TC) so the
client retries over TCP.  ``run`` binds, then follows a snapshot source (any
object with ``snapshots()`` yielding ``(services, endpointslices)``, e.g.
``berth.proxy.ServiceWatch``, two informers the node process shares with the proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

import dns.exception
import dns.flags
import dns.message
import dns.rcode

from berth.dns.errors import ServeFailed
from berth.dns.index import ClusterIndex, build_index
from berth.dns.resolver import respond

Obj = dict[str, Any]
log = logging.getLogger(__name__)
# Pods ask 10.96.0.10:53; the node's proxy redirects that to this port on the node, which
# stays clear of a host resolver (systemd-resolved, dnsmasq) already holding port 53.
LISTEN_PORT = 10053


class SnapshotSource(Protocol):
    def snapshots(self) -> AsyncIterator[tuple[list[Obj], list[Obj]]]: ...


def answer_wire(index: ClusterIndex, wire: bytes, max_size: int | None) -> bytes | None:
    """The wire answer to one wire query; None when the query cannot even be parsed."""
    try:
        query = dns.message.from_wire(wire)
    except dns.message.ShortHeader:
        return None
    except dns.exception.DNSException:
        if len(wire) < 2:
            return None
        # FORMERR with the query's id and nothing else.
        return wire[:2] + struct.pack("!HHHHH", 0x8000 | dns.rcode.FORMERR, 0, 0, 0, 0)
    response = respond(index, query)
    if max_size is None:
        return response.to_wire()
    limit = max(512, query.payload if query.edns >= 0 else 512)
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        short = dns.message.make_response(query)
        short.set_rcode(response.rcode())
        short.flags |= dns.flags.TC | (response.flags & dns.flags.AA)
        return short.to_wire()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: ClusterDNS) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        out = answer_wire(self.server.index, data, max_size=512)
        if out is not None and self.transport is not None:
            self.transport.sendto(out, addr)


class ClusterDNS:
    """An authoritative server for the cluster domain on ``host:port`` (UDP and TCP)."""

    def __init__(self, *, host: str = "0.0.0.0", port: int = LISTEN_PORT,
                 domain: str = "cluster.local", source: SnapshotSource | None = None) -> None:
        self.host, self.port, self.domain = host, port, domain
        self.source = source
        self.index = build_index([], [], domain)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    def update(self, services: Iterable[Obj], endpointslices: Iterable[Obj]) -> None:
        """Serve these objects from now on."""
        self.index = build_index(services, endpointslices, self.domain)

    async def start(self, sockets: tuple[socket.socket, socket.socket] | None = None) -> None:
        """Bind UDP and TCP (``port=0``: UDP picks one, TCP takes the same).

        ``sockets`` (a bound UDP and a listening TCP socket) serves sockets made
        elsewhere, e.g. inside another network namespace.
        """
        loop = asyncio.get_running_loop()
        try:
            if sockets is not None:
                transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self),
                                                                   sock=sockets[0])
                self._tcp = await asyncio.start_server(self._serve_tcp, sock=sockets[1])
                self._udp = transport
                self.port = transport.get_extra_info("sockname")[1]
                return
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, self.port))
            self._udp = transport
            self.port = transport.get_extra_info("sockname")[1]
            self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port)
        except OSError as exc:
            await self.stop()
            raise ServeFailed(f"cluster DNS cannot listen on {self.host}:{self.port}: "
                              f"{exc.strerror or exc}") from exc

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None

    async def _serve_tcp(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                out = answer_wire(self.index, await reader.readexactly(size), max_size=None)
                if out is None:
                    break
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def run(self, sockets: tuple[socket.socket, socket.socket] | None = None) -> None:
        """Serve until cancelled, updating from ``source`` when there is one."""
        await self.start(sockets)
        try:
            if self.source is None:
                await asyncio.Event().wait()
            else:
                async for services, slices in self.source.snapshots():
                    self.update(services, slices)
        finally:
            await self.stop()
