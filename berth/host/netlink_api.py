"""What callers of the netlink adapter use: the values and the `NetlinkAPI` protocol.

`netlink.Netlink` (pyroute2) implements it for a real network namespace;
`berth.testing.fakes.netlink.FakeNetlink` implements it over in-memory
namespaces, and tests/contract/netlink holds both to the same behaviour.
This module imports no pyroute2, so code that only needs the types (and
the fake) stays light. Errors are `berth.host.errors` types (LinkExists,
LinkNotFound, NetlinkError) carrying the errno.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Protocol

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str
    mac: str
    mtu: int
    up: bool
    promisc: bool
    master: int | None


@dataclass(frozen=True)
class RouteEntry:
    dst: IPNetwork
    gw: IPAddress | None
    oif: int | None


class NetlinkAPI(Protocol):
    """Links, addresses and routes (main table) of one network namespace."""

    where: str

    def close(self) -> None: ...

    def get_link(self, name: str) -> Link | None: ...

    def links(self) -> list[Link]: ...

    def link_by_index(self, index: int) -> Link | None: ...

    def require_link(self, name: str) -> Link: ...

    def ensure_bridge(self, name: str, mtu: int) -> Link: ...

    def add_veth(self, name: str, peer: str, peer_netns_fd: int, mtu: int,
                 master: int | None = None, peer_mac: str = "") -> Link: ...

    def set_up(self, index: int) -> None: ...

    def set_down(self, index: int) -> None: ...

    def set_promisc(self, index: int, on: bool) -> None: ...

    def set_hairpin(self, index: int, on: bool) -> None: ...

    def hairpin(self, index: int) -> bool: ...

    def delete_link(self, name: str) -> bool: ...

    def addrs(self, index: int) -> list[IPInterface]: ...

    def ensure_addr(self, index: int, addr: IPInterface) -> None: ...

    def delete_addr(self, index: int, addr: IPInterface) -> None: ...

    def replace_route(self, dst: IPNetwork, gw: IPAddress | None, oif: int,
                      mtu: int | None = None) -> None: ...

    def routes(self, oif: int | None = None) -> list[RouteEntry]: ...
