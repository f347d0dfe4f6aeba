"""The one-machine topology and the files the network agent writes for CNI."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from berth.api.addressplan import AddressPlan
from berth.cluster.topology import plan_topology
from berth.netagent.files import render_conflist, render_subnet_env, write_atomic


def test_topology_addresses_nodes_from_the_underlay() -> None:
    topo = plan_topology(3, AddressPlan.parse())
    assert [str(n.underlay_ip) for n in topo.nodes] == \
        ["198.18.0.11/24", "198.18.0.12/24", "198.18.0.13/24"]
    assert [n.netns for n in topo.nodes] == ["berth-node1", "berth-node2", "berth-node3"]
    assert topo.fabric_netns == "berth-fabric" and str(topo.host_ip) == "198.18.0.1/24"
    assert all(len(n.fabric_port) <= 15 for n in topo.nodes)
    with pytest.raises(ValueError, match="--nodes"):
        plan_topology(0, AddressPlan.parse())
    with pytest.raises(ValueError, match="overlaps"):
        plan_topology(1, AddressPlan.parse(cluster_cidr="198.18.0.0/16"),
                      underlay=ipaddress.IPv4Network("198.18.0.0/24"))


def test_subnet_file_and_conflist_describe_the_node_subnet(tmp_path: Path) -> None:
    net = AddressPlan.parse()
    assert render_subnet_env(net, "10.244.3.0/24").splitlines() == [
        "BERTH_NETWORK=10.244.0.0/16", "BERTH_SUBNET=10.244.3.1/24", "BERTH_MTU=1450",
        "BERTH_IPMASQ=false"]
    conf = render_conflist(net, "10.244.3.0/24", tmp_path / "subnet.env", tmp_path / "ipam")
    plugin = conf["plugins"][0]
    assert (plugin["type"], plugin["mtu"], plugin["ipMasq"]) == ("bridge", 1450, False)
    meta = render_conflist(net, "10.244.3.0/24", tmp_path / "s.env", tmp_path, "berth-net",
                           "/run/berth/n1/cni.sock")
    assert [p["type"] for p in meta["plugins"]] == ["berth-net", "berth-portmap",
                                                    "berth-loopback"]
    assert meta["plugins"][0] == {"type": "berth-net", "subnetFile": str(tmp_path / "s.env"),
                                  "dataDir": str(tmp_path), "ipamDataDir": str(tmp_path / "ipam"),
                                  "berthSocket": "/run/berth/n1/cni.sock"}
    assert all(p["berthSocket"] == "/run/berth/n1/cni.sock" for p in meta["plugins"])
    target = tmp_path / "a" / "conf"
    assert write_atomic(target, json.dumps(conf)) is True
    assert write_atomic(target, json.dumps(conf)) is False  # unchanged: not rewritten
