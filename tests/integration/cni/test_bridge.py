"""Pods on a bridge, for real: berth's client driving berth's plugins and the reference ones.

Each test builds a node namespace (holding the bridge) and pod namespaces,
and runs the plugins from inside the node namespace.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import pytest

from berth.cni.client import CNIClient, RuntimeConf, pod_args
from berth.cni.confdir import NetworkConfigList, load_conf_bytes
from berth.cni.errors import PluginError
from berth.cni.plugins.bridge_conf import host_veth_name
from berth.host import netns
from berth.host.netlink import Netlink

from .conftest import BIN_DIRS, MakeNetns, ping, tcp_roundtrip

pytestmark = pytest.mark.root

VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]


def conflist(tmp_path: Path, flavour: str, version: str = "1.0.0",
             **bridge: Any) -> NetworkConfigList:
    """berth's chain, the reference chain, or mixes (main plugin x IPAM plugin)."""
    main, ipam, loop = {
        "berth": ("berth-bridge", "berth-host-local", "berth-loopback"),
        "reference": ("bridge", "host-local", "loopback"),
        "berth-bridge+reference-ipam": ("berth-bridge", "host-local", "loopback"),
        "reference-bridge+berth-ipam": ("bridge", "berth-host-local", "berth-loopback"),
    }[flavour]
    plugins = [
        {"type": main, "bridge": "bthbr0", "isGateway": True, "isDefaultGateway": True,
         "ipam": {"type": ipam, "dataDir": str(tmp_path / "ipam"),
                  "ranges": [[{"subnet": "10.244.1.0/24"}]]}, **bridge},
        {"type": loop},
    ]
    data = {"cniVersion": version, "name": "podnet", "plugins": plugins}
    return load_conf_bytes(json.dumps(data).encode(), f"{flavour}.conflist")


def ip_files(tmp_path: Path) -> list[str]:
    d = tmp_path / "ipam" / "podnet"
    return sorted(p.name for p in d.iterdir() if p.name[0].isdigit()) if d.exists() else []


@pytest.mark.parametrize("flavour", ["berth", "reference", "berth-bridge+reference-ipam",
                                     "reference-bridge+berth-ipam"])
def test_two_pods_reach_each_other(tmp_path: Path, node: str, make_netns: MakeNetns,
                                   flavour: str) -> None:
    net = conflist(tmp_path, flavour)
    client = CNIClient(BIN_DIRS, str(tmp_path / "cache"))
    pods = {name: make_netns(name) for name in ("a", "b")}
    with netns.entered(node):
        results = {name: client.add(net, RuntimeConf(f"ctr-{name}", path, "eth0",
                                                     pod_args("ns", name, f"ctr-{name}", "u")))
                   for name, path in pods.items()}
    ip = {name: str(r.ips[0].address.ip) for name, r in results.items()}
    assert sorted(ip.values()) == ["10.244.1.2", "10.244.1.3"]
    assert ping(pods["a"], ip["b"]) and ping(pods["b"], ip["a"])
    assert ping(pods["a"], "10.244.1.1")  # the gateway on the bridge
    assert tcp_roundtrip(pods["b"], ip["b"], pods["a"]) == b"HELLO BERTH"
    with netns.entered(node):
        for name, path in pods.items():
            client.check(net, RuntimeConf(f"ctr-{name}", path, "eth0"))
        for name, path in pods.items():
            client.delete(net, RuntimeConf(f"ctr-{name}", path, "eth0"))
    assert ip_files(tmp_path) == []
    with Netlink.open(node) as nl:
        assert nl.require_link("bthbr0").kind == "bridge"
        veths = [nl.link_by_index(i) for i in range(1, 20)]
        assert [v.name for v in veths if v and v.kind == "veth"] == []


@pytest.mark.parametrize("version", VERSIONS)
def test_berth_bridge_result_and_links(tmp_path: Path, node: str, make_netns: MakeNetns,
                                       version: str) -> None:
    net = conflist(tmp_path, "berth", version, mtu=1400, hairpinMode=True, promiscMode=True)
    client = CNIClient(BIN_DIRS, str(tmp_path / "cache"))
    pod = make_netns("pod")
    rt = RuntimeConf("ctr1", pod, "eth0")
    with netns.entered(node):
        result = client.add(net, rt)
    out = result.to_dict()
    assert out["cniVersion"] == version
    veth = host_veth_name("ctr1", "eth0")
    assert [i["name"] for i in out["interfaces"]] == ["bthbr0", veth, "eth0"]
    assert out["interfaces"][2]["sandbox"] == pod
    assert out["ips"][0]["interface"] == 2
    assert out["ips"][0]["address"] == "10.244.1.2/24"
    assert out["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.244.1.1"}]
    with Netlink.open(node) as host, Netlink.open(pod) as p:
        br = host.require_link("bthbr0")
        hv = host.require_link(veth)
        assert (br.mtu, br.promisc, hv.master, hv.mtu) == (1400, True, br.index, 1400)
        assert host.hairpin(hv.index)
        assert "10.244.1.1/24" in map(str, host.addrs(br.index))
        eth0 = p.require_link("eth0")
        assert eth0.up and eth0.mtu == 1400 and eth0.mac == out["interfaces"][2]["mac"]
        assert p.require_link("lo").up
    with netns.entered(node):
        if version != "0.3.1":
            client.check(net, rt)
        client.delete(net, rt)
    with Netlink.open(node) as host:
        assert host.get_link(veth) is None


def test_check_notices_a_missing_address(tmp_path: Path, node: str,
                                         make_netns: MakeNetns) -> None:
    net = conflist(tmp_path, "berth")
    client = CNIClient(BIN_DIRS, str(tmp_path / "cache"))
    pod = make_netns("pod")
    rt = RuntimeConf("ctr1", pod)
    with netns.entered(node):
        client.add(net, rt)
    with Netlink.open(pod) as p:
        p.delete_addr(p.require_link("eth0").index, ipaddress.ip_interface("10.244.1.2/24"))
    with netns.entered(node), pytest.raises(PluginError) as info:
        client.check(net, rt)
    assert info.value.code == 100
    assert "10.244.1.2/24 is missing on eth0" in info.value.msg


@pytest.mark.parametrize("flavour", ["berth", "reference"])
def test_del_is_idempotent(tmp_path: Path, node: str, make_netns: MakeNetns,
                           flavour: str) -> None:
    net = conflist(tmp_path, flavour)
    client = CNIClient(BIN_DIRS, str(tmp_path / "cache"))
    pods = [make_netns(f"p{n}") for n in range(2)]
    with netns.entered(node):
        for n, pod in enumerate(pods):
            client.add(net, RuntimeConf(f"c{n}", pod))
    netns.delete_netns(pods[0])  # the namespace is gone before DEL
    with netns.entered(node):
        client.delete(net, RuntimeConf("c0", pods[0]))
        client.delete(net, RuntimeConf("c0", pods[0]))  # twice
        client.delete(net, RuntimeConf("c1", ""))  # empty CNI_NETNS, like containerd's 2nd DEL
        client.delete(net, RuntimeConf("c1", pods[1]))
        client.delete(net, RuntimeConf("never-added", ""))
    assert ip_files(tmp_path) == []
    if flavour == "berth":  # the host end, found by its derived name, is gone too
        with Netlink.open(node) as host:
            assert host.get_link(host_veth_name("c1", "eth0")) is None


def test_failed_add_leaves_nothing_behind(tmp_path: Path, node: str,
                                          make_netns: MakeNetns) -> None:
    net = conflist(tmp_path, "berth")
    client = CNIClient(BIN_DIRS, str(tmp_path / "cache"))
    pod = make_netns("pod")
    fd = netns.open_netns(pod)
    try:  # the interface name is already taken in the pod
        with Netlink.open(pod) as p:
            p.add_veth("eth0", "bthother", fd, 1500)
    finally:
        os.close(fd)
    with netns.entered(node), pytest.raises(PluginError) as info:
        client.add(net, RuntimeConf("ctr1", pod))
    assert "CNI_IFNAME: interface eth0 already exists" in info.value.msg
    assert ip_files(tmp_path) == []
    with Netlink.open(node) as host:
        assert host.get_link(host_veth_name("ctr1", "eth0")) is None


def test_dual_stack_pods_with_requested_mac_and_ips(tmp_path: Path, node: str,
                                                   make_netns: MakeNetns) -> None:
    data = {"cniVersion": "1.1.0", "name": "dual", "plugins": [
        {"type": "berth-bridge", "bridge": "bthbr3", "isDefaultGateway": True,
         "capabilities": {"mac": True, "ips": True, "dns": True},
         "ipam": {"type": "berth-host-local", "dataDir": str(tmp_path / "ipam"),
                  "ranges": [[{"subnet": "10.244.5.0/24"}], [{"subnet": "fd00:5::/64"}]]}}]}
    net = load_conf_bytes(json.dumps(data).encode(), "dual.conflist")
    client = CNIClient(BIN_DIRS, str(tmp_path / "cache"))
    a, b = make_netns("a"), make_netns("b")
    caps = {"mac": "0a:58:0a:f4:05:32", "ips": ["10.244.5.50/24", "fd00:5::50/64"],
            "dns": {"nameservers": ["10.96.0.10"], "search": ["default.svc.cluster.local"]}}
    with netns.entered(node):
        ra = client.add(net, RuntimeConf("ca", a, capability_args=caps))
        rb = client.add(net, RuntimeConf("cb", b))
    assert [str(ip.address) for ip in ra.ips] == ["10.244.5.50/24", "fd00:5::50/64"]
    assert ra.interfaces[2].mac == "0a:58:0a:f4:05:32"
    assert ra.dns.nameservers == ("10.96.0.10",)
    assert sorted(str(r.dst) for r in ra.routes) == ["0.0.0.0/0", "::/0"]
    v6_b = str(rb.ips[1].address.ip)
    assert v6_b == "fd00:5::51"  # round robin continues after the requested ::50
    assert tcp_roundtrip(b, v6_b, a) == b"HELLO BERTH"
    with netns.entered(node):
        client.check(net, RuntimeConf("ca", a))
        client.delete(net, RuntimeConf("ca", a))
        client.delete(net, RuntimeConf("cb", b))
    assert [p.name for p in (tmp_path / "ipam" / "dual").iterdir() if ":" in p.name] == []
