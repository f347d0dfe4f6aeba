"""The netlink adapter: links, addresses and routes in one network namespace, via pyroute2.

``Netlink.open(netns)`` binds a pyroute2 socket to a namespace by creating it
while the calling thread is inside that namespace (no helper process, ~1 ms).
Methods take and return typed values (``Link``, ``ipaddress`` objects,
``RouteEntry``); pyroute2 messages and ``NetlinkError``s never leave this
module: errors become ``berth.host.errors`` types carrying the errno.
Verbs are idempotent where the CNI plugins need them to be: ``ensure_bridge``,
``ensure_addr``, ``replace_route``, ``delete_link`` (missing is fine).
``netlink_api`` holds the value types and the ``NetlinkAPI`` protocol this implements.
"""

from __future__ import annotations

import errno
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError as _PyNetlinkError

from berth.host import netns
from berth.host.errors import LinkExists, LinkNotFound, NetlinkError
from berth.host.netlink_api import IPAddress, IPInterface, IPNetwork, Link, RouteEntry

__all__ = ["IPAddress", "IPInterface", "IPNetwork", "Link", "Netlink", "RouteEntry",
           "set_forwarding"]

IFF_UP = 0x1
IFF_PROMISC = 0x100
IFA_F_NODAD = 0x02
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253

@contextmanager
def _translate(what: str) -> Iterator[None]:
    try:
        yield
    except _PyNetlinkError as exc:
        code = exc.code
        if code == errno.EEXIST:
            raise LinkExists(f"{what}: {exc}", code) from exc
        if code in (errno.ENODEV, errno.ENOENT):
            raise LinkNotFound(f"{what}: {exc}", code) from exc
        raise NetlinkError(f"{what}: {exc}", code) from exc
    except OSError as exc:
        raise NetlinkError(f"{what}: {exc}", exc.errno or 0) from exc


def _link(msg: Any) -> Link:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    flags = int(msg["flags"])
    return Link(
        index=int(msg["index"]),
        name=msg.get_attr("IFLA_IFNAME"),
        kind=kind or "",
        mac=msg.get_attr("IFLA_ADDRESS") or "",
        mtu=int(msg.get_attr("IFLA_MTU") or 0),
        up=bool(flags & IFF_UP),
        promisc=bool(flags & IFF_PROMISC),
        master=msg.get_attr("IFLA_MASTER"),
    )


class Netlink:
    """A netlink socket bound to one network namespace."""

    def __init__(self, ipr: Any, where: str) -> None:
        self._ipr = ipr
        self.where = where

    @classmethod
    def open(cls, ns: str | None = None) -> Netlink:
        """Open in namespace ``ns`` (name or path), or the caller's own when None."""
        if ns is None:
            with _translate("open netlink"):
                return cls(IPRoute(), "current netns")
        with netns.entered(ns), _translate(f"open netlink in {ns}"):
            return cls(IPRoute(), ns)

    def close(self) -> None:
        self._ipr.close()

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- links -----------------------------------------------------------------------------

    def get_link(self, name: str) -> Link | None:
        """The link called ``name``, or None (one RTM_GETLINK round trip)."""
        try:
            with _translate(f"get link {name}"):
                msgs = list(self._ipr.link("get", ifname=name))
        except LinkNotFound:
            return None
        return _link(msgs[0]) if msgs else None

    def links(self) -> list[Link]:
        with _translate("list links"):
            return [_link(m) for m in self._ipr.get_links()]

    def link_by_index(self, index: int) -> Link | None:
        try:
            with _translate(f"get link #{index}"):
                return _link(self._ipr.get_links(index)[0])
        except LinkNotFound:
            return None

    def require_link(self, name: str) -> Link:
        link = self.get_link(name)
        if link is None:
            raise LinkNotFound(f"link {name} not found in {self.where}", errno.ENODEV)
        return link

    def ensure_bridge(self, name: str, mtu: int) -> Link:
        """The bridge ``name`` (created if missing), with ``mtu`` and up."""
        link = self.get_link(name)
        if link is None:
            try:
                with _translate(f"create bridge {name}"):
                    self._ipr.link("add", ifname=name, kind="bridge", mtu=mtu)
            except LinkExists:
                pass  # a concurrent ADD created it first
            link = self.require_link(name)
        elif link.kind != "bridge":
            raise LinkExists(f"{name} exists in {self.where} but is a {link.kind or 'device'}",
                             errno.EEXIST)
        if link.mtu != mtu or not link.up:
            with _translate(f"set bridge {name} up"):
                self._ipr.link("set", index=link.index, mtu=mtu, state="up")
            link = self.require_link(name)
        return link

    def add_veth(self, name: str, peer: str, peer_netns_fd: int, mtu: int,
                 master: int | None = None, peer_mac: str = "") -> Link:
        """A veth pair: ``name`` here, ``peer`` created directly in the other namespace."""
        extra: dict[str, Any] = {"master": master} if master else {}
        peer_spec: dict[str, Any] = {"ifname": peer, "net_ns_fd": peer_netns_fd, "mtu": mtu}
        if peer_mac:
            peer_spec["address"] = peer_mac
        with _translate(f"create veth {name}"):
            self._ipr.link("add", ifname=name, kind="veth", mtu=mtu, peer=peer_spec, **extra)
        return self.require_link(name)

    def set_up(self, index: int) -> None:
        with _translate(f"set link #{index} up"):
            self._ipr.link("set", index=index, state="up")

    def set_down(self, index: int) -> None:
        with _translate(f"set link #{index} down"):
            self._ipr.link("set", index=index, state="down")

    def set_promisc(self, index: int, on: bool) -> None:
        with _translate(f"set link #{index} promisc"):
            self._ipr.link("set", index=index, flags=IFF_PROMISC if on else 0, mask=IFF_PROMISC)

    def set_hairpin(self, index: int, on: bool) -> None:
        with _translate(f"set hairpin on link #{index}"):
            self._ipr.brport("set", index=index, mode=1 if on else 0)

    def hairpin(self, index: int) -> bool:
        with _translate(f"get bridge port #{index}"):
            msgs = self._ipr.brport("show", index=index)
        for msg in msgs:
            info = msg.get_attr("IFLA_PROTINFO")
            if info is not None:
                return bool(info.get_attr("IFLA_BRPORT_MODE"))
        return False

    def delete_link(self, name: str) -> bool:
        """Delete ``name``; False when it was already gone."""
        try:
            with _translate(f"delete link {name}"):
                idx = self._ipr.link_lookup(ifname=name)
                if not idx:
                    return False
                self._ipr.link("del", index=idx[0])
        except LinkNotFound:
            return False
        return True

    # -- addresses -------------------------------------------------------------------------

    def addrs(self, index: int) -> list[IPInterface]:
        with _translate(f"list addresses of #{index}"):
            msgs = self._ipr.get_addr(index=index)
        return [
            ipaddress.ip_interface(f"{m.get_attr('IFA_ADDRESS')}/{m['prefixlen']}") for m in msgs
        ]

    def ensure_addr(self, index: int, addr: IPInterface) -> None:
        """Add ``addr`` unless present (IPv6 without duplicate address detection).

        One request: the kernel's EEXIST says it was there (no dump of every address).
        """
        extra: dict[str, Any] = {"flags": IFA_F_NODAD} if addr.version == 6 else {}
        try:
            with _translate(f"add address {addr} to #{index}"):
                self._ipr.addr("add", index=index, address=str(addr.ip),
                               prefixlen=addr.network.prefixlen, **extra)
        except LinkExists:
            pass

    def delete_addr(self, index: int, addr: IPInterface) -> None:
        """Remove ``addr`` from the link; a missing address is fine."""
        try:
            with _translate(f"delete address {addr} from #{index}"):
                self._ipr.addr("del", index=index, address=str(addr.ip),
                               prefixlen=addr.network.prefixlen)
        except NetlinkError as exc:
            if exc.errno not in (errno.EADDRNOTAVAIL, errno.ENOENT, errno.ENODEV):
                raise

    # -- routes ----------------------------------------------------------------------------

    def replace_route(self, dst: IPNetwork, gw: IPAddress | None, oif: int,
                      mtu: int | None = None) -> None:
        kw: dict[str, Any] = {"dst": str(dst), "oif": oif}
        if gw is not None:
            kw["gateway"] = str(gw)
        else:
            kw["scope"] = RT_SCOPE_LINK
        if mtu:
            kw["metrics"] = {"mtu": mtu}
        with _translate(f"replace route {dst}"):
            self._ipr.route("replace", **kw)

    def routes(self, oif: int | None = None) -> list[RouteEntry]:
        out: list[RouteEntry] = []
        for family in (2, 10):
            with _translate("list routes"):
                msgs = self._ipr.get_routes(family=family, table=254)
            for m in msgs:
                link = m.get_attr("RTA_OIF")
                if oif is not None and link != oif:
                    continue
                dst = m.get_attr("RTA_DST")
                net = ipaddress.ip_network(
                    f"{dst or ('0.0.0.0' if family == 2 else '::')}/{m['dst_len']}", strict=False)
                gw = m.get_attr("RTA_GATEWAY")
                out.append(RouteEntry(net, ipaddress.ip_address(gw) if gw else None, link))
        return out


def set_forwarding(version: int) -> None:
    """Turn on IP forwarding in the calling thread's network namespace."""
    path = ("/proc/sys/net/ipv4/ip_forward" if version == 4
            else "/proc/sys/net/ipv6/conf/all/forwarding")
    try:
        with open(path, "r+") as f:
            if f.read().strip() != "1":
                f.seek(0)
                f.write("1")
    except OSError as exc:
        raise NetlinkError(f"enable forwarding ({path}): {exc.strerror}", exc.errno or 0) from exc
