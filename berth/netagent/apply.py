"""Reading and changing the node's kernel state, through ``berth.host.fabric``.

``setup_local`` prepares the node once per start, idempotently: IP forwarding
on, and for the vxlan backend the ``bth.vxlan`` device (VNI 1, UDP 8472,
learning off, MTU = underlay MTU - 50) with the node's VTEP address (its
subnet's network address, /32).  An existing device with the right settings
is kept with its MAC, so a restarted agent does not disturb traffic.
``observe`` reads the ``Actual`` state the agent owns (routes with berth's
route protocol; neighbour and FDB entries of ``bth.vxlan``); ``apply_changes``
makes a planned diff real, in an order that never leaves a route without its
next hop (adds: FDB, neighbours, routes; removals the other way round).
``teardown_local`` removes everything the agent made on this node.
Every function is blocking: the agent runs them in a worker thread.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from berth.host import fabric as host
from berth.host import netns
from berth.host.errors import HostError
from berth.host.fabric import Fabric
from berth.host.netlink import set_forwarding
from berth.netagent.config import VXLAN_DEVICE, VXLAN_PORT, VXLAN_VNI, AgentConfig
from berth.netagent.errors import ApplyError
from berth.netagent.plan import Actual, Changes, Local, OwnedRoute


@dataclass(frozen=True)
class LocalLinks:
    underlay_index: int
    underlay_mtu: int
    vxlan_index: int = 0
    vtep_mac: str = ""


def open_fabric(config: AgentConfig) -> Fabric:
    try:
        return Fabric.open(config.netns or None)
    except HostError as exc:
        raise ApplyError(f"cannot open netlink in {config.netns or 'this namespace'}: {exc}"
                         ) from exc


def setup_local(fab: Fabric, config: AgentConfig, subnet: ipaddress.IPv4Network) -> LocalLinks:
    """Forwarding on; for vxlan the VTEP device with its address; returns the indexes."""
    try:
        underlay = fab.get_link(config.underlay_device)
        if underlay is None:
            raise ApplyError(f"underlay device {config.underlay_device!r} not found in "
                             f"{config.netns or 'this namespace'}")
        if config.netns:
            with netns.entered(config.netns):
                set_forwarding(4)
        else:
            set_forwarding(4)
        if config.cluster.backend != "vxlan":
            return LocalLinks(underlay.index, underlay.mtu)
        vx = fab.ensure_vxlan(VXLAN_DEVICE, vni=VXLAN_VNI, port=VXLAN_PORT,
                              local=str(config.public_ip), dev=underlay.index,
                              mtu=underlay.mtu - 50)
        vtep = ipaddress.IPv4Interface(f"{subnet.network_address}/32")
        for addr in fab.addrs(vx.index):
            if addr != vtep:
                fab.delete_addr(vx.index, addr)
        fab.ensure_addr(vx.index, vtep)
        return LocalLinks(underlay.index, underlay.mtu, vx.index, vx.mac)
    except HostError as exc:
        raise ApplyError(f"setting up the {config.cluster.backend} backend: {exc}") from exc


def observe(fab: Fabric, links: LocalLinks) -> Actual:
    """The state the agent owns right now."""
    try:
        routes = frozenset(OwnedRoute(r.dst, r.gw, r.oif, r.onlink) for r in fab.owned_routes())
        if not links.vxlan_index:
            return Actual(routes=routes)
        neigh = frozenset((ip, mac) for ip, mac in fab.neighbours(links.vxlan_index).items()
                          if isinstance(ip, ipaddress.IPv4Address))
        fdb = frozenset((mac, ip) for mac, ip in fab.fdb(links.vxlan_index).items()
                        if isinstance(ip, ipaddress.IPv4Address))
    except HostError as exc:
        raise ApplyError(f"reading routes and neighbours: {exc}") from exc
    return Actual(routes=routes, neighbours=neigh, fdb=fdb)


def local_for(config: AgentConfig, subnet: ipaddress.IPv4Network, links: LocalLinks) -> Local:
    return Local(name=config.node_name, subnet=subnet, backend=config.cluster.backend,
                 underlay_index=links.underlay_index, vxlan_index=links.vxlan_index)


def apply_changes(fab: Fabric, links: LocalLinks, changes: Changes) -> None:
    """Make ``changes`` real; each step is idempotent, so a retry after a failure is safe."""
    try:
        for mac, dst in changes.add_fdb:
            fab.replace_fdb(links.vxlan_index, mac, dst)
        for ip, mac in changes.add_neighbours:
            fab.replace_neigh(links.vxlan_index, ip, mac)
        for route in changes.add_routes:
            fab.replace_owned_route(host.OwnedRoute(route.dst, route.gw, route.oif, route.onlink))
        for route in changes.del_routes:
            fab.delete_owned_route(host.OwnedRoute(route.dst, route.gw, route.oif, route.onlink))
        for ip, _ in changes.del_neighbours:
            fab.delete_neigh(links.vxlan_index, ip)
        for mac, dst in changes.del_fdb:
            fab.delete_fdb(links.vxlan_index, mac, dst)
    except HostError as exc:
        raise ApplyError(f"applying {changes.summary()}: {exc}") from exc


def teardown_local(fab: Fabric) -> None:
    """Remove every owned route and the VXLAN device (with its entries)."""
    try:
        for route in fab.owned_routes():
            fab.delete_owned_route(route)
        fab.delete_link(VXLAN_DEVICE)
    except HostError as exc:
        raise ApplyError(f"removing the node's overlay state: {exc}") from exc
