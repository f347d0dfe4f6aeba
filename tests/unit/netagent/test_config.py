"""Cluster network settings: bad input gives one clear error naming the flag."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from berth.cluster.topology import plan_topology
from berth.netagent.config import ClusterNetwork
from berth.netagent.errors import MtuTooSmall, NetConfigError
from berth.netagent.files import render_conflist, render_subnet_env, write_atomic


def test_defaults_are_the_documented_ones() -> None:
    net = ClusterNetwork.parse()
    assert str(net.pod_cidr) == "10.244.0.0/16" and str(net.service_cidr) == "10.96.0.0/12"
    assert net.pod_mtu == 1450
    assert ClusterNetwork.parse(backend="host-gw").pod_mtu == 1500


@pytest.mark.parametrize(("kwargs", "flag"), [
    ({"pod_cidr": "10.96.0.0/16"}, "--service-cidr"),
    ({"pod_cidr": "10.244.0.0/24"}, "--node-cidr-mask-size"),
    ({"node_mask": 16}, "--node-cidr-mask-size"),
    ({"pod_cidr": "10.244.0.1/16"}, "--pod-network-cidr"),
    ({"pod_cidr": "fd00::/64"}, "--pod-network-cidr"),
    ({"service_cidr": "nonsense"}, "--service-cidr"),
    ({"backend": "ipip"}, "--backend"),
])
def test_bad_settings_name_the_flag(kwargs: dict[str, object], flag: str) -> None:
    with pytest.raises(NetConfigError) as err:
        ClusterNetwork.parse(**kwargs)  # type: ignore[arg-type]
    assert str(err.value).startswith(flag)


def test_underlay_mtu_too_small_for_vxlan_but_fine_for_host_gw() -> None:
    with pytest.raises(MtuTooSmall, match="--underlay-mtu: 600 leaves 550"):
        ClusterNetwork.parse(underlay_mtu=600)
    assert ClusterNetwork.parse(underlay_mtu=600, backend="host-gw").pod_mtu == 600


def test_node_subnets_split_the_cluster_range_until_it_is_used_up() -> None:
    net = ClusterNetwork.parse(pod_cidr="10.244.0.0/23", node_mask=24)
    assert [str(net.node_subnet(i)) for i in (0, 1)] == ["10.244.0.0/24", "10.244.1.0/24"]
    with pytest.raises(NetConfigError, match="room for 2 node subnets"):
        net.node_subnet(2)


def test_topology_addresses_nodes_from_the_underlay() -> None:
    topo = plan_topology(3, ClusterNetwork.parse())
    assert [str(n.underlay_ip) for n in topo.nodes] == \
        ["198.18.0.11/24", "198.18.0.12/24", "198.18.0.13/24"]
    assert [n.netns for n in topo.nodes] == ["berth-node1", "berth-node2", "berth-node3"]
    assert str(topo.nodes[2].pod_subnet) == "10.244.2.0/24"
    assert topo.fabric_netns == "berth-fabric" and str(topo.host_ip) == "198.18.0.1/24"
    assert all(len(n.fabric_port) <= 15 for n in topo.nodes)
    with pytest.raises(ValueError, match="--nodes"):
        plan_topology(0, ClusterNetwork.parse())
    with pytest.raises(ValueError, match="overlaps"):
        plan_topology(1, ClusterNetwork.parse(pod_cidr="198.18.0.0/16"),
                      underlay=ipaddress.IPv4Network("198.18.0.0/24"))


def test_subnet_file_and_conflist_describe_the_node_subnet(tmp_path: Path) -> None:
    net = ClusterNetwork.parse()
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
