"""ipMasq for real: a pod reaches an "outside" namespace only because the node masquerades."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from berth.cni.client import CNIClient, RuntimeConf
from berth.cni.confdir import load_conf_bytes
from berth.cni.plugins.masq import FAMILY, TABLE, names
from berth.host import netns, nft
from berth.host.netlink import Netlink

from .conftest import BIN_DIRS, MakeNetns, ping

pytestmark = pytest.mark.root


def elements(node: str, set_name: str) -> list[str]:
    with netns.entered(node):
        table = nft.list_table(FAMILY, TABLE)
    if table is None:
        return []
    sets = [item["set"] for item in table if "set" in item and item["set"]["name"] == set_name]
    return [str(e) for s in sets for e in s.get("elem", [])]


def test_ip_masq_lets_pods_reach_outside_and_is_removed_on_del(
    tmp_path: Path, node: str, make_netns: MakeNetns
) -> None:
    outside = make_netns("out")
    fd = netns.open_netns(outside)
    try:
        with Netlink.open(node) as nl, Netlink.open(outside) as out:
            up = nl.add_veth("bthup0", "up0", fd, 1500)
            nl.set_up(up.index)
            nl.ensure_addr(up.index, ipaddress.ip_interface("10.250.0.1/30"))
            peer = out.require_link("up0")
            out.set_up(peer.index)
            out.ensure_addr(peer.index, ipaddress.ip_interface("10.250.0.2/30"))
    finally:
        os.close(fd)
    data = {"cniVersion": "1.0.0", "name": "masqnet", "plugins": [
        {"type": "berth-bridge", "bridge": "bthbr2", "isDefaultGateway": True, "ipMasq": True,
         "ipam": {"type": "berth-host-local", "dataDir": str(tmp_path / "ipam"),
                  "ranges": [[{"subnet": "10.244.9.0/24"}]]}}]}
    net = load_conf_bytes(json.dumps(data).encode(), "masq.conflist")
    client = CNIClient(BIN_DIRS, str(tmp_path / "cache"))
    pods = [make_netns(f"m{n}") for n in range(2)]
    with netns.entered(node):
        for n, pod in enumerate(pods):
            client.add(net, RuntimeConf(f"c{n}", pod))
    _, set4, _ = names("masqnet")
    assert sorted(elements(node, set4)) == ["10.244.9.2", "10.244.9.3"]
    # "outside" has no route back to 10.244.9.0/24: replies arrive only if the node masquerades
    assert ping(pods[0], "10.250.0.2")
    with netns.entered(node):
        client.delete(net, RuntimeConf("c0", pods[0]))
        assert elements(node, set4) == ["10.244.9.3"]
        client.delete(net, RuntimeConf("c1", ""))  # no netns: the address comes from the cache
        assert nft.list_table(FAMILY, TABLE) is None
