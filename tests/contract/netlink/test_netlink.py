"""The NetlinkAPI contract: the in-memory fake and pyroute2 in throwaway namespaces agree.

``nets`` opens two namespaces ("a" and "b") either in a `FakeKernel` or as
real network namespaces named ``berth-nlt-<hex>-{a,b}`` (root; always
deleted, which frees every link in them). Tests work only inside them.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from berth.host.errors import LinkExists, LinkNotFound, NetlinkError
from berth.host.netlink_api import NetlinkAPI
from berth.testing.fakes.netlink import FakeKernel


@dataclass
class Nets:
    a: NetlinkAPI
    b: NetlinkAPI
    b_fd: int  # an open descriptor of namespace b, for add_veth
    closers: list[object] = field(default_factory=list)


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.root)])
def nets(request: pytest.FixtureRequest) -> Iterator[Nets]:
    if request.param == "fake":
        kernel = FakeKernel()
        yield Nets(kernel.open("a"), kernel.open("b"), kernel.fd("b"))
        return
    if os.geteuid() != 0:
        pytest.skip("needs root")
    from berth.host import netns
    from berth.host.netlink import Netlink

    base = f"berth-nlt-{secrets.token_hex(3)}"
    names = [f"{base}-a", f"{base}-b"]
    opened: list[Netlink] = []
    fd = -1
    try:
        for name in names:
            netns.create_netns(name)
        opened = [Netlink.open(name) for name in names]
        fd = netns.open_netns(names[1])
        yield Nets(opened[0], opened[1], fd)
    finally:
        for nl in opened:
            nl.close()
        if fd >= 0:
            os.close(fd)
        for name in names:
            if netns.exists(name):
                netns.delete_netns(name)


def v4(text: str) -> ipaddress.IPv4Interface:
    return ipaddress.IPv4Interface(text)


def test_a_new_namespace_has_only_lo_and_it_is_down(nets: Nets) -> None:
    (lo,) = nets.a.links()
    assert (lo.name, lo.kind, lo.up, lo.master) == ("lo", "", False, None)
    nets.a.set_up(lo.index)
    assert nets.a.require_link("lo").up
    assert nets.a.get_link("nope") is None
    assert nets.a.link_by_index(9999) is None
    with pytest.raises(LinkNotFound):
        nets.a.require_link("nope")


def test_ensure_bridge_creates_it_up_and_is_idempotent(nets: Nets) -> None:
    br = nets.a.ensure_bridge("bth-br0", 1400)
    assert (br.kind, br.mtu, br.up) == ("bridge", 1400, True)
    again = nets.a.ensure_bridge("bth-br0", 1450)
    assert (again.index, again.mtu) == (br.index, 1450)
    assert [link.name for link in nets.a.links()] == ["lo", "bth-br0"]
    nets.a.set_promisc(br.index, True)
    assert nets.a.require_link("bth-br0").promisc
    with pytest.raises(LinkExists):
        nets.a.ensure_bridge("lo", 1500)


def test_a_veth_pair_spans_two_namespaces_and_dies_as_one(nets: Nets) -> None:
    br = nets.a.ensure_bridge("bth-br0", 1500)
    host = nets.a.add_veth("bthv1", "eth0", nets.b_fd, 1500, master=br.index,
                           peer_mac="02:42:ac:11:00:07")
    assert (host.kind, host.master, host.mtu, host.up) == ("veth", br.index, 1500, False)
    pod = nets.b.require_link("eth0")
    assert (pod.kind, pod.mac, pod.master) == ("veth", "02:42:ac:11:00:07", None)
    nets.a.set_hairpin(host.index, True)
    assert nets.a.hairpin(host.index)
    with pytest.raises(LinkExists) as info:
        nets.a.add_veth("bthv1", "eth1", nets.b_fd, 1500)
    assert info.value.errno == errno.EEXIST
    assert nets.a.delete_link("bthv1") is True
    assert nets.b.get_link("eth0") is None, "deleting one end deletes its peer"
    assert nets.a.delete_link("bthv1") is False


def test_addresses_are_added_once_and_deleting_a_missing_one_is_fine(nets: Nets) -> None:
    br = nets.a.ensure_bridge("bth-br0", 1500)
    nets.a.ensure_addr(br.index, v4("10.250.0.1/24"))
    nets.a.ensure_addr(br.index, v4("10.250.0.1/24"))
    nets.a.ensure_addr(br.index, v4("10.250.1.1/24"))
    found = [a for a in nets.a.addrs(br.index) if a.version == 4]
    assert sorted(found) == [v4("10.250.0.1/24"), v4("10.250.1.1/24")]
    nets.a.delete_addr(br.index, v4("10.250.1.1/24"))
    nets.a.delete_addr(br.index, v4("10.250.1.1/24"))
    assert [a for a in nets.a.addrs(br.index) if a.version == 4] == [v4("10.250.0.1/24")]


def test_routes_connected_then_replaced_and_unreachable_gateways_refused(nets: Nets) -> None:
    br = nets.a.ensure_bridge("bth-br0", 1500)
    nets.a.ensure_addr(br.index, v4("10.250.0.1/24"))

    def mine() -> set[tuple[str, str | None]]:
        return {(str(r.dst), str(r.gw) if r.gw else None)
                for r in nets.a.routes(br.index) if r.dst.version == 4}

    assert mine() == {("10.250.0.0/24", None)}
    dst = ipaddress.ip_network("10.251.0.0/16")
    nets.a.replace_route(dst, ipaddress.ip_address("10.250.0.2"), br.index)
    nets.a.replace_route(dst, ipaddress.ip_address("10.250.0.3"), br.index)
    assert mine() == {("10.250.0.0/24", None), ("10.251.0.0/16", "10.250.0.3")}
    nets.a.replace_route(ipaddress.ip_network("10.252.0.0/16"), None, br.index)
    assert ("10.252.0.0/16", None) in mine()
    with pytest.raises(NetlinkError) as info:
        nets.a.replace_route(ipaddress.ip_network("10.253.0.0/16"),
                             ipaddress.ip_address("10.99.0.1"), br.index)
    assert info.value.errno == errno.ENETUNREACH
    assert all(r.oif == br.index for r in nets.a.routes(br.index))


def test_a_route_needs_its_link_up(nets: Nets) -> None:
    veth = nets.a.add_veth("bthv2", "eth0", nets.b_fd, 1500)
    with pytest.raises(NetlinkError) as info:
        nets.a.replace_route(ipaddress.ip_network("10.254.0.0/16"), None, veth.index)
    assert info.value.errno == errno.ENETDOWN
