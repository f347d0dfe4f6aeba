"""The netlink verbs of the cluster network: VXLAN devices, neighbours, FDB, owned routes.

``Fabric`` is a ``Netlink`` (same socket, same namespace binding, same error
translation) with the extra verbs the network agent needs and the CNI plugins
do not: a VXLAN device with learning off (``ensure_vxlan``), permanent ARP
entries (``neighbours``/``replace_neigh``/``delete_neigh``), forwarding
entries of the VXLAN device (``fdb``/``replace_fdb``/``delete_fdb``) and
routes tagged with berth's own route protocol (``owned_routes``,
``replace_owned_route``, ``delete_owned_route``).  The protocol number is how
the agent recognises its routes again after a restart without touching any
route someone else made.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from berth.host.errors import LinkExists, LinkNotFound, NetlinkError
from berth.host.netlink import IPAddress, IPNetwork, Link, Netlink, _translate

#: rtm_protocol of every route the network agent owns (see /etc/iproute2/rt_protos).
RTPROT_BERTH = 66
NUD_PERMANENT = 0x80
NTF_SELF = 0x02
RTNH_F_ONLINK = 0x04
AF_BRIDGE = 7


@dataclass(frozen=True)
class OwnedRoute:
    dst: IPNetwork
    gw: IPAddress | None
    oif: int
    onlink: bool


@dataclass(frozen=True)
class VxlanParams:
    vni: int
    port: int
    local: str
    learning: bool


class Fabric(Netlink):
    """Netlink plus the overlay and owned-route verbs, in one namespace."""

    @classmethod
    def open(cls, ns: str | None = None) -> Fabric:
        opened = super().open(ns)
        assert isinstance(opened, Fabric)
        return opened

    def __enter__(self) -> Fabric:
        return self

    # -- vxlan -----------------------------------------------------------------------------

    def vxlan_params(self, name: str) -> VxlanParams | None:
        """The VNI, UDP port, local address and learning flag of VXLAN ``name``."""
        with _translate(f"get link {name}"):
            idx = self._ipr.link_lookup(ifname=name)
            if not idx:
                return None
            msg = self._ipr.get_links(idx[0])[0]
        info = msg.get_attr("IFLA_LINKINFO")
        data = info.get_attr("IFLA_INFO_DATA") if info is not None else None
        if data is None:
            return None
        return VxlanParams(vni=int(data.get_attr("IFLA_VXLAN_ID") or 0),
                           port=int(data.get_attr("IFLA_VXLAN_PORT") or 0),
                           local=str(data.get_attr("IFLA_VXLAN_LOCAL") or ""),
                           learning=bool(data.get_attr("IFLA_VXLAN_LEARNING")))

    def ensure_vxlan(self, name: str, *, vni: int, port: int, local: str, dev: int,
                     mtu: int) -> Link:
        """VXLAN ``name`` as asked, up; an existing one with other parameters is remade.

        An existing device with the right parameters is kept as it is (its MAC
        too), so a restarted agent does not disturb traffic.
        """
        want = VxlanParams(vni=vni, port=port, local=local, learning=False)
        link = self.get_link(name)
        if link is not None and (link.kind != "vxlan" or self.vxlan_params(name) != want):
            self.delete_link(name)
            link = None
        if link is None:
            try:
                with _translate(f"create vxlan {name}"):
                    self._ipr.link("add", ifname=name, kind="vxlan", vxlan_id=vni,
                                   vxlan_port=port, vxlan_local=local, vxlan_link=dev,
                                   vxlan_learning=0, mtu=mtu)
            except LinkExists:
                pass
            link = self.require_link(name)
        if link.mtu != mtu or not link.up:
            with _translate(f"set vxlan {name} up"):
                self._ipr.link("set", index=link.index, mtu=mtu, state="up")
            link = self.require_link(name)
        return link

    # -- neighbours ------------------------------------------------------------------------

    def neighbours(self, index: int) -> dict[IPAddress, str]:
        """Permanent IPv4 neighbour entries of link ``index``: IP -> MAC."""
        with _translate(f"list neighbours of #{index}"):
            msgs = self._ipr.get_neighbours(family=socket.AF_INET, ifindex=index)
        out: dict[IPAddress, str] = {}
        for m in msgs:
            if m["ifindex"] != index or not m["state"] & NUD_PERMANENT:
                continue
            dst, mac = m.get_attr("NDA_DST"), m.get_attr("NDA_LLADDR")
            if dst and mac:
                out[ipaddress.ip_address(dst)] = mac
        return out

    def replace_neigh(self, index: int, ip: IPAddress, mac: str) -> None:
        with _translate(f"replace neighbour {ip} on #{index}"):
            self._ipr.neigh("replace", ifindex=index, dst=str(ip), lladdr=mac,
                            state=NUD_PERMANENT)

    def delete_neigh(self, index: int, ip: IPAddress) -> None:
        try:
            with _translate(f"delete neighbour {ip} on #{index}"):
                self._ipr.neigh("del", ifindex=index, dst=str(ip))
        except (LinkNotFound, NetlinkError) as exc:
            if exc.errno not in (errno.ENOENT, errno.ENODEV, errno.ESRCH):
                raise

    # -- forwarding database of a vxlan device ---------------------------------------------

    def fdb(self, index: int) -> dict[str, IPAddress]:
        """Unicast FDB entries with a remote of link ``index``: MAC -> remote underlay IP."""
        with _translate(f"list fdb of #{index}"):
            msgs = self._ipr.fdb("dump", ifindex=index)
        out: dict[str, IPAddress] = {}
        for m in msgs:
            if m["ifindex"] != index:
                continue
            mac, dst = m.get_attr("NDA_LLADDR"), m.get_attr("NDA_DST")
            if mac and dst and mac != "00:00:00:00:00:00":
                out[mac] = ipaddress.ip_address(dst)
        return out

    def replace_fdb(self, index: int, mac: str, dst: IPAddress) -> None:
        with _translate(f"replace fdb {mac} on #{index}"):
            self._ipr.fdb("replace", ifindex=index, lladdr=mac, dst=str(dst),
                          state=NUD_PERMANENT, flags=NTF_SELF)

    def delete_fdb(self, index: int, mac: str, dst: IPAddress) -> None:
        try:
            with _translate(f"delete fdb {mac} on #{index}"):
                self._ipr.fdb("del", ifindex=index, lladdr=mac, dst=str(dst), flags=NTF_SELF)
        except (LinkNotFound, NetlinkError) as exc:
            if exc.errno not in (errno.ENOENT, errno.ENODEV):
                raise

    # -- owned routes ----------------------------------------------------------------------

    def owned_routes(self, proto: int = RTPROT_BERTH) -> list[OwnedRoute]:
        """IPv4 routes of the main table whose protocol is ``proto``."""
        with _translate("list routes"):
            msgs = self._ipr.get_routes(family=socket.AF_INET, table=254)
        out: list[OwnedRoute] = []
        for m in msgs:
            if m["proto"] != proto:
                continue
            dst = m.get_attr("RTA_DST") or "0.0.0.0"
            gw = m.get_attr("RTA_GATEWAY")
            out.append(OwnedRoute(
                dst=ipaddress.ip_network(f"{dst}/{m['dst_len']}", strict=False),
                gw=ipaddress.ip_address(gw) if gw else None,
                oif=int(m.get_attr("RTA_OIF") or 0),
                onlink=bool(m["flags"] & RTNH_F_ONLINK)))
        return out

    def replace_owned_route(self, route: OwnedRoute, proto: int = RTPROT_BERTH) -> None:
        kw: dict[str, Any] = {"dst": str(route.dst), "oif": route.oif, "proto": proto}
        if route.gw is not None:
            kw["gateway"] = str(route.gw)
        if route.onlink:
            kw["flags"] = RTNH_F_ONLINK
        with _translate(f"replace route {route.dst}"):
            self._ipr.route("replace", **kw)

    def delete_owned_route(self, route: OwnedRoute, proto: int = RTPROT_BERTH) -> None:
        try:
            with _translate(f"delete route {route.dst}"):
                self._ipr.route("del", dst=str(route.dst), proto=proto)
        except (LinkNotFound, NetlinkError) as exc:
            if exc.errno not in (errno.ENOENT, errno.ESRCH):
                raise
