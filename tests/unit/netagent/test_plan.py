"""Planning of the network agent: from Nodes to routes, neighbours and FDB entries, and diffs."""

from __future__ import annotations

import ipaddress
from typing import Any

from berth.netagent.plan import (
    ANNOTATION_BACKEND,
    ANNOTATION_PUBLIC_IP,
    ANNOTATION_VTEP_MAC,
    Actual,
    Local,
    OwnedRoute,
    peer_from_node,
    plan_changes,
    plan_desired,
)

UNDERLAY, VXLAN = 2, 7


def node(name: str, cidr: str, ip: str, mac: str = "", backend: str = "vxlan",
         internal: str = "") -> dict[str, Any]:
    notes = {ANNOTATION_BACKEND: backend}
    if ip:
        notes[ANNOTATION_PUBLIC_IP] = ip
    if mac:
        notes[ANNOTATION_VTEP_MAC] = mac
    obj: dict[str, Any] = {"metadata": {"name": name, "annotations": notes},
                           "spec": {"podCIDR": cidr} if cidr else {}}
    if internal:
        obj["status"] = {"addresses": [{"type": "InternalIP", "address": internal}]}
    return obj


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text)


def ip(text: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(text)


def peers(*nodes: dict[str, Any]) -> list[Any]:
    return [p for p in map(peer_from_node, nodes) if p is not None]


NODES = [node("n1", "10.244.1.0/24", "198.18.0.11", "aa:00:00:00:00:01"),
         node("n2", "10.244.2.0/24", "198.18.0.12", "AA:00:00:00:00:02"),
         node("n3", "10.244.3.0/24", "198.18.0.13", "aa:00:00:00:00:03")]


def local(backend: str) -> Local:
    return Local("n1", net("10.244.1.0/24"), backend, UNDERLAY, VXLAN)


def test_host_gw_routes_each_peer_subnet_via_its_underlay_ip() -> None:
    desired = plan_desired(local("host-gw"), peers(*NODES))
    assert desired.routes == {
        OwnedRoute(net("10.244.2.0/24"), ip("198.18.0.12"), UNDERLAY, False),
        OwnedRoute(net("10.244.3.0/24"), ip("198.18.0.13"), UNDERLAY, False)}
    assert not desired.neighbours and not desired.fdb


def test_vxlan_gives_fdb_neighbour_and_onlink_route_per_peer() -> None:
    desired = plan_desired(local("vxlan"), peers(*NODES))
    assert desired.fdb == {("aa:00:00:00:00:02", ip("198.18.0.12")),
                           ("aa:00:00:00:00:03", ip("198.18.0.13"))}
    assert desired.neighbours == {(ip("10.244.2.0"), "aa:00:00:00:00:02"),
                                  (ip("10.244.3.0"), "aa:00:00:00:00:03")}
    assert OwnedRoute(net("10.244.2.0/24"), ip("10.244.2.0"), VXLAN, True) in desired.routes
    assert len(desired.routes) == 2


def test_peers_without_subnet_or_vtep_mac_are_skipped_until_published() -> None:
    half = [node("n4", "", "198.18.0.14", "aa:00:00:00:00:04"),
            node("n5", "10.244.5.0/24", "198.18.0.15")]
    assert peer_from_node(half[0]) is None
    assert plan_desired(local("vxlan"), peers(*half)).routes == frozenset()
    assert len(plan_desired(local("host-gw"), peers(*half)).routes) == 1


def test_public_ip_falls_back_to_the_internal_ip() -> None:
    peer = peer_from_node(node("n2", "10.244.2.0/24", "", internal="198.18.0.99"))
    assert peer is not None and peer.public_ip == ip("198.18.0.99")


def test_a_peer_claiming_the_local_subnet_is_ignored() -> None:
    thief = node("evil", "10.244.1.0/25", "198.18.0.66", "aa:00:00:00:00:66")
    assert plan_desired(local("host-gw"), peers(thief)).routes == frozenset()


def test_diff_of_desired_against_itself_is_empty() -> None:
    desired = plan_desired(local("vxlan"), peers(*NODES))
    changes = plan_changes(desired, desired)
    assert changes.empty and changes.summary() == "nothing to do"


def test_departed_peer_is_removed_and_unknown_owned_state_too() -> None:
    before = plan_desired(local("vxlan"), peers(*NODES))
    after = plan_desired(local("vxlan"), peers(*NODES[:2]))
    changes = plan_changes(after, before)
    assert [str(r.dst) for r in changes.del_routes] == ["10.244.3.0/24"]
    assert changes.del_neighbours == ((ip("10.244.3.0"), "aa:00:00:00:00:03"),)
    assert changes.del_fdb == (("aa:00:00:00:00:03", ip("198.18.0.13")),)
    assert not changes.add_routes


def test_a_moved_peer_is_replaced_not_removed() -> None:
    moved = [NODES[0], node("n2", "10.244.2.0/24", "198.18.0.42", "aa:00:00:00:00:02")]
    before = plan_desired(local("host-gw"), peers(*NODES[:2]))
    changes = plan_changes(plan_desired(local("host-gw"), peers(*moved)), before)
    assert [str(r.gw) for r in changes.add_routes] == ["198.18.0.42"]
    assert changes.del_routes == ()  # replace keeps the destination routed throughout


def test_missing_entries_in_the_kernel_are_added() -> None:
    desired = plan_desired(local("vxlan"), peers(*NODES))
    changes = plan_changes(desired, Actual())
    assert len(changes.add_routes) == 2 and len(changes.add_fdb) == 2
    assert "+ 2 routes" in changes.summary()
