"""Pure planning: from Nodes to the kernel state a backend wants, and the diff to get there.

``peer_from_node`` reads what a Node publishes (``spec.podCIDR``, the
``berth.dev/`` annotations: backend type, public IP, VTEP MAC; the InternalIP
as a fallback for the public IP) into a ``Peer``, or None while the Node has
not published enough yet.  ``plan_desired`` gives the ``Desired`` state of one
node for its backend:

- host-gw: per peer a route ``peer.subnet via peer.public_ip dev <underlay>``;
- vxlan: per peer an FDB entry ``peer.vtep_mac -> peer.public_ip``, a
  permanent neighbour ``peer.vtep_ip -> peer.vtep_mac`` and an onlink route
  ``peer.subnet via peer.vtep_ip dev bth.vxlan`` (flannel's layout: a node's
  VTEP address is its subnet's network address).

``plan_changes`` compares that with what the kernel holds (``Actual``) and
lists exactly what to add and remove, so a reconcile never flushes anything
that is already right.  Interface indexes come in as plain ints: the planner
never touches the kernel (nor imports the host adapters).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
ANNOTATION_BACKEND = "berth.dev/backend-type"
ANNOTATION_PUBLIC_IP = "berth.dev/public-ip"
ANNOTATION_VTEP_MAC = "berth.dev/vtep-mac"


@dataclass(frozen=True)
class OwnedRoute:
    """A route the agent owns: ``dst via gw dev <oif> [onlink]`` (mirrors the host adapter's)."""

    dst: ipaddress.IPv4Network | ipaddress.IPv6Network
    gw: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    oif: int
    onlink: bool


@dataclass(frozen=True)
class Peer:
    name: str
    subnet: ipaddress.IPv4Network
    public_ip: ipaddress.IPv4Address
    backend: str
    vtep_mac: str = ""

    @property
    def vtep_ip(self) -> ipaddress.IPv4Address:
        return self.subnet.network_address


@dataclass(frozen=True)
class Local:
    """This node, as the planner needs it: its subnet and its interface indexes."""

    name: str
    subnet: ipaddress.IPv4Network
    backend: str
    underlay_index: int
    vxlan_index: int = 0


@dataclass(frozen=True)
class Desired:
    routes: frozenset[OwnedRoute] = frozenset()
    neighbours: frozenset[tuple[ipaddress.IPv4Address, str]] = frozenset()
    fdb: frozenset[tuple[str, ipaddress.IPv4Address]] = frozenset()


Actual = Desired


@dataclass(frozen=True)
class Changes:
    add_routes: tuple[OwnedRoute, ...] = ()
    del_routes: tuple[OwnedRoute, ...] = ()
    add_neighbours: tuple[tuple[ipaddress.IPv4Address, str], ...] = ()
    del_neighbours: tuple[tuple[ipaddress.IPv4Address, str], ...] = ()
    add_fdb: tuple[tuple[str, ipaddress.IPv4Address], ...] = ()
    del_fdb: tuple[tuple[str, ipaddress.IPv4Address], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.add_routes or self.del_routes or self.add_neighbours
                    or self.del_neighbours or self.add_fdb or self.del_fdb)

    def summary(self) -> str:
        parts = [f"{verb} {len(items)} {what}" for verb, what, items in (
            ("+", "routes", self.add_routes), ("-", "routes", self.del_routes),
            ("+", "neighbours", self.add_neighbours), ("-", "neighbours", self.del_neighbours),
            ("+", "fdb", self.add_fdb), ("-", "fdb", self.del_fdb)) if items]
        return ", ".join(parts) or "nothing to do"


def _internal_ip(node: Obj) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == "InternalIP":
            return str(addr.get("address") or "")
    return ""


def peer_from_node(node: Obj) -> Peer | None:
    """What a Node publishes for its peers, or None if it has no usable subnet/IP yet."""
    meta = node.get("metadata") or {}
    notes = meta.get("annotations") or {}
    cidr = (node.get("spec") or {}).get("podCIDR") or ""
    public = notes.get(ANNOTATION_PUBLIC_IP) or _internal_ip(node)
    try:
        subnet = ipaddress.IPv4Network(cidr)
        ip = ipaddress.IPv4Address(public)
    except ValueError:
        return None
    return Peer(name=str(meta.get("name") or ""), subnet=subnet, public_ip=ip,
                backend=str(notes.get(ANNOTATION_BACKEND) or ""),
                vtep_mac=str(notes.get(ANNOTATION_VTEP_MAC) or "").lower())


def plan_annotations(backend: str, public_ip: str, vtep_mac: str) -> dict[str, str]:
    """The annotations this node publishes for its peers."""
    notes = {ANNOTATION_BACKEND: backend, ANNOTATION_PUBLIC_IP: public_ip}
    if backend == "vxlan":
        notes[ANNOTATION_VTEP_MAC] = vtep_mac
    return notes


def plan_desired(local: Local, peers: list[Peer]) -> Desired:
    """The routes/neighbours/FDB entries ``local`` wants for ``peers`` (itself skipped)."""
    routes: set[OwnedRoute] = set()
    neighbours: set[tuple[ipaddress.IPv4Address, str]] = set()
    fdb: set[tuple[str, ipaddress.IPv4Address]] = set()
    for peer in sorted(peers, key=lambda p: p.name):
        if peer.name == local.name or peer.subnet == local.subnet:
            continue
        if peer.subnet.overlaps(local.subnet):
            continue  # a misconfigured peer must not steal the local subnet
        if local.backend == "host-gw":
            routes.add(OwnedRoute(peer.subnet, peer.public_ip, local.underlay_index, False))
        elif local.backend == "vxlan":
            if peer.backend != "vxlan" or not peer.vtep_mac:
                continue  # not published yet: nothing to tunnel to
            fdb.add((peer.vtep_mac, peer.public_ip))
            neighbours.add((peer.vtep_ip, peer.vtep_mac))
            routes.add(OwnedRoute(peer.subnet, peer.vtep_ip, local.vxlan_index, True))
    return Desired(frozenset(routes), frozenset(neighbours), frozenset(fdb))


def plan_changes(desired: Desired, actual: Actual) -> Changes:
    """What to add and remove so that ``actual`` becomes ``desired`` (sorted, stable)."""
    def key(item: Any) -> str:
        return str(item)

    # A route whose destination stays but whose next hop changes is replaced, not removed.
    wanted_dsts = {r.dst for r in desired.routes}
    wanted_neigh_ips = {ip for ip, _ in desired.neighbours}
    wanted_macs = {mac for mac, _ in desired.fdb}
    return Changes(
        add_routes=tuple(sorted(desired.routes - actual.routes, key=key)),
        del_routes=tuple(sorted((r for r in actual.routes - desired.routes
                                 if r.dst not in wanted_dsts), key=key)),
        add_neighbours=tuple(sorted(desired.neighbours - actual.neighbours, key=key)),
        del_neighbours=tuple(sorted((n for n in actual.neighbours - desired.neighbours
                                     if n[0] not in wanted_neigh_ips), key=key)),
        add_fdb=tuple(sorted(desired.fdb - actual.fdb, key=key)),
        del_fdb=tuple(sorted((f for f in actual.fdb - desired.fdb
                              if f[0] not in wanted_macs), key=key)),
    )
