"""`NetlinkAPI` over in-memory network namespaces: links, addresses and routes, no kernel.

A `FakeKernel` holds namespaces by name, each starting as a new one does
(only ``lo``, down); ``kernel.open(name)`` gives a `FakeNetlink` bound to
one, and ``kernel.fd(name)`` a number that stands for an open namespace
file descriptor (``add_veth`` creates its peer in the namespace it names).
The rules kept are the kernel's ones callers depend on (and
tests/contract/netlink checks on both): names are unique per namespace and
at most 15 bytes, deleting one end of a veth deletes the other, an up link
with an IPv4 address has a connected route to its subnet, a gateway must be
reachable on the route's link, errors carry the kernel's errno.
"""

from __future__ import annotations

import errno
import itertools
from dataclasses import dataclass, field, replace

from berth.host.errors import LinkExists, LinkNotFound, NetlinkError
from berth.host.netlink_api import (
    IPAddress,
    IPInterface,
    IPNetwork,
    Link,
    NetlinkAPI,
    RouteEntry,
)

IFNAMSIZ = 15


@dataclass
class _Port:
    link: Link
    peer: tuple[FakeNamespace, int] | None = None  # a veth's other end
    hairpin: bool = False


@dataclass
class FakeNamespace:
    name: str
    links: dict[int, _Port] = field(default_factory=dict)
    addrs: dict[int, list[IPInterface]] = field(default_factory=dict)
    routes: dict[IPNetwork, RouteEntry] = field(default_factory=dict)
    _index: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.add(Link(0, "lo", "", "00:00:00:00:00:00", 65536, False, False, None))

    def add(self, link: Link) -> Link:
        if len(link.name.encode()) > IFNAMSIZ or not link.name:
            raise NetlinkError(f"create link {link.name}: invalid name", errno.EINVAL)
        if any(p.link.name == link.name for p in self.links.values()):
            raise LinkExists(f"create link {link.name}: File exists", errno.EEXIST)
        link = replace(link, index=next(self._index))
        self.links[link.index] = _Port(link)
        self.addrs[link.index] = []
        return link

    def port(self, index: int, what: str) -> _Port:
        port = self.links.get(index)
        if port is None:
            raise LinkNotFound(f"{what}: No such device", errno.ENODEV)
        return port

    def remove(self, index: int) -> None:
        self.links.pop(index, None)
        self.addrs.pop(index, None)
        for dst in [d for d, r in self.routes.items() if r.oif == index]:
            del self.routes[dst]


class FakeKernel:
    """Network namespaces by name and the fake file descriptors that open them."""

    def __init__(self) -> None:
        self.namespaces: dict[str, FakeNamespace] = {}
        self._fds: dict[int, FakeNamespace] = {}
        self._next_fd = itertools.count(100)
        self._macs = itertools.count(1)
        self.namespace("")  # the caller's own namespace

    def namespace(self, name: str) -> FakeNamespace:
        if name not in self.namespaces:
            self.namespaces[name] = FakeNamespace(name)
        return self.namespaces[name]

    def fd(self, name: str) -> int:
        """A stand-in for an open file descriptor of namespace ``name``."""
        fd = next(self._next_fd)
        self._fds[fd] = self.namespace(name)
        return fd

    def by_fd(self, fd: int) -> FakeNamespace:
        try:
            return self._fds[fd]
        except KeyError:
            raise NetlinkError(f"namespace fd {fd}: Bad file descriptor", errno.EBADF) from None

    def mac(self) -> str:
        n = next(self._macs)
        return f"02:00:00:{(n >> 16) & 255:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}"

    def open(self, ns: str | None = None) -> FakeNetlink:
        """Like ``Netlink.open``: None is the caller's own namespace."""
        return FakeNetlink(self, self.namespace(ns or ""), ns or "current netns")


class FakeNetlink:
    """`NetlinkAPI` on one `FakeNamespace`."""

    def __init__(self, kernel: FakeKernel, ns: FakeNamespace, where: str) -> None:
        self.kernel, self.ns, self.where = kernel, ns, where

    def close(self) -> None:
        return None

    def __enter__(self) -> FakeNetlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- links -------------------------------------------------------------------------
    def get_link(self, name: str) -> Link | None:
        return next((p.link for p in self.ns.links.values() if p.link.name == name), None)

    def links(self) -> list[Link]:
        return [p.link for _, p in sorted(self.ns.links.items())]

    def link_by_index(self, index: int) -> Link | None:
        port = self.ns.links.get(index)
        return port.link if port else None

    def require_link(self, name: str) -> Link:
        link = self.get_link(name)
        if link is None:
            raise LinkNotFound(f"link {name} not found in {self.where}", errno.ENODEV)
        return link

    def _set(self, index: int, what: str, **changes: object) -> None:
        port = self.ns.port(index, what)
        port.link = replace(port.link, **changes)  # type: ignore[arg-type]

    def ensure_bridge(self, name: str, mtu: int) -> Link:
        link = self.get_link(name)
        if link is None:
            link = self.ns.add(Link(0, name, "bridge", self.kernel.mac(), mtu, False, False,
                                    None))
        elif link.kind != "bridge":
            raise LinkExists(f"{name} exists in {self.where} but is a {link.kind or 'device'}",
                             errno.EEXIST)
        if link.mtu != mtu or not link.up:
            self._set(link.index, f"set bridge {name} up", mtu=mtu, up=True)
        return self.require_link(name)

    def add_veth(self, name: str, peer: str, peer_netns_fd: int, mtu: int,
                 master: int | None = None, peer_mac: str = "") -> Link:
        other = self.kernel.by_fd(peer_netns_fd)
        if master is not None:
            self.ns.port(master, f"create veth {name}: master")
        if any(p.link.name == peer for p in other.links.values()):
            raise LinkExists(f"create veth {name}: File exists", errno.EEXIST)
        here = self.ns.add(Link(0, name, "veth", self.kernel.mac(), mtu, False, False, master))
        try:
            there = other.add(Link(0, peer, "veth", peer_mac.lower() or self.kernel.mac(), mtu,
                                   False, False, None))
        except NetlinkError:
            self.ns.remove(here.index)
            raise
        self.ns.links[here.index].peer = (other, there.index)
        other.links[there.index].peer = (self.ns, here.index)
        return here

    def set_up(self, index: int) -> None:
        self._set(index, f"set link #{index} up", up=True)

    def set_down(self, index: int) -> None:
        self._set(index, f"set link #{index} down", up=False)
        for dst in [d for d, r in self.ns.routes.items()
                    if r.oif == index and d.version == 4]:
            del self.ns.routes[dst]  # the kernel flushes IPv4 routes of a link going down

    def set_promisc(self, index: int, on: bool) -> None:
        self._set(index, f"set link #{index} promisc", promisc=on)

    def set_hairpin(self, index: int, on: bool) -> None:
        port = self.ns.port(index, f"set hairpin on link #{index}")
        if port.link.master is None:
            raise NetlinkError(f"set hairpin on link #{index}: not a bridge port",
                               errno.EOPNOTSUPP)
        port.hairpin = on

    def hairpin(self, index: int) -> bool:
        return self.ns.port(index, f"get bridge port #{index}").hairpin

    def delete_link(self, name: str) -> bool:
        link = self.get_link(name)
        if link is None:
            return False
        port = self.ns.links[link.index]
        self.ns.remove(link.index)
        if port.peer is not None:
            other, index = port.peer
            other.remove(index)
        for other_port in self.ns.links.values():  # ports of a deleted bridge are released
            if other_port.link.master == link.index:
                other_port.link = replace(other_port.link, master=None)
        return True

    # -- addresses ---------------------------------------------------------------------
    def addrs(self, index: int) -> list[IPInterface]:
        self.ns.port(index, f"list addresses of #{index}")
        return list(self.ns.addrs[index])

    def ensure_addr(self, index: int, addr: IPInterface) -> None:
        self.ns.port(index, f"add address {addr} to #{index}")
        if addr not in self.ns.addrs[index]:
            self.ns.addrs[index].append(addr)

    def delete_addr(self, index: int, addr: IPInterface) -> None:
        if index in self.ns.addrs and addr in self.ns.addrs[index]:
            self.ns.addrs[index].remove(addr)

    # -- routes ------------------------------------------------------------------------
    def _connected(self) -> list[RouteEntry]:
        """The routes the kernel adds for each IPv4 address of an up link."""
        out = []
        for index, port in sorted(self.ns.links.items()):
            if not port.link.up or port.link.name == "lo":
                continue
            for addr in self.ns.addrs[index]:
                if addr.version == 4 and addr.network.prefixlen < 32:
                    out.append(RouteEntry(addr.network, None, index))
        return out

    def replace_route(self, dst: IPNetwork, gw: IPAddress | None, oif: int,
                      mtu: int | None = None) -> None:
        port = self.ns.port(oif, f"replace route {dst}")
        if not port.link.up:
            raise NetlinkError(f"replace route {dst}: Network is down", errno.ENETDOWN)
        if gw is not None and not any(gw in r.dst for r in self._connected() if r.oif == oif):
            raise NetlinkError(f"replace route {dst}: Network is unreachable",
                               errno.ENETUNREACH)
        self.ns.routes[dst] = RouteEntry(dst, gw, oif)

    def routes(self, oif: int | None = None) -> list[RouteEntry]:
        connected = [r for r in self._connected() if r.dst not in self.ns.routes]
        found = connected + list(self.ns.routes.values())
        return [r for r in found if oif is None or r.oif == oif]


def _conforms(fake: FakeNetlink) -> NetlinkAPI:
    """mypy checks here that the fake implements the whole protocol."""
    return fake

