"""berth.host.netns and berth.host.netlink on the real kernel."""

from __future__ import annotations

import ipaddress
import os

import pytest

from berth.host import netns
from berth.host.errors import LinkExists, NetnsError, NetnsNotFound
from berth.host.netlink import Netlink

from .conftest import MakeNetns

pytestmark = pytest.mark.root


def current_netns() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def test_netns_lifecycle_and_entering(make_netns: MakeNetns) -> None:
    path = make_netns("life")
    name = os.path.basename(path)
    assert netns.exists(name) and name in netns.list_netns("berth-t-")
    with pytest.raises(NetnsError, match="already exists"):
        netns.create_netns(name)
    before = current_netns()
    with netns.entered(path):
        inside = current_netns()
        assert inside != before
        with Netlink.open() as nl:
            assert [link.name for link in nl.links()] == ["lo"]
    assert current_netns() == before
    netns.delete_netns(name)
    netns.delete_netns(name)  # missing is fine
    assert not netns.exists(name)
    with pytest.raises(NetnsNotFound):
        Netlink.open(path)


def test_entered_switches_back_when_the_block_fails(make_netns: MakeNetns) -> None:
    before = current_netns()
    with pytest.raises(RuntimeError), netns.entered(make_netns("fail")):
        raise RuntimeError("boom")
    assert current_netns() == before


def test_netlink_verbs_are_idempotent(make_netns: MakeNetns) -> None:
    path = make_netns("nl")
    fd = netns.open_netns(path)
    try:
        with Netlink.open(path) as nl:
            br = nl.ensure_bridge("bthbrx", 1450)
            assert nl.ensure_bridge("bthbrx", 1450).index == br.index
            v = nl.add_veth("bthv0", "bthv1", fd, 1450, master=br.index)
            assert v.master == br.index
            with pytest.raises(LinkExists):
                nl.add_veth("bthv0", "bthv2", fd, 1450)
            with pytest.raises(LinkExists, match="is a veth"):
                nl.ensure_bridge("bthv0", 1450)
            addr = ipaddress.ip_interface("10.7.0.1/24")
            nl.ensure_addr(br.index, addr)
            nl.ensure_addr(br.index, addr)
            assert nl.addrs(br.index).count(addr) == 1
            nl.delete_addr(br.index, addr)
            nl.delete_addr(br.index, addr)
            assert nl.delete_link("bthv0") and not nl.delete_link("bthv0")
            assert nl.get_link("bthv1") is None  # the peer went with it
    finally:
        os.close(fd)
