"""hostPort for real: outside, node, localhost, hairpin and neighbour pods reach a pod's port.

berth's client runs bridge + portmap chains (berth's and the reference ones)
in a node namespace with an uplink to an "outside" namespace.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
from pathlib import Path

import pytest

from berth.cni.client import CNIClient, RuntimeConf
from berth.cni.confdir import load_conf_bytes
from berth.host import netns, nft
from berth.host.netlink import Netlink

from .conftest import BIN_DIRS, MakeNetns

pytestmark = pytest.mark.root

NODE_IP = "10.250.1.1"


@pytest.fixture
def bin_dirs(tmp_path: Path) -> list[str]:
    """berth-portmap as an executable even before its console script is declared."""
    d = tmp_path / "bin"
    d.mkdir()
    script = d / "berth-portmap"
    script.write_text(f"#!{sys.executable}\nfrom berth.cni.plugins.portmap import main\nmain()\n")
    script.chmod(0o755)
    return [str(d), *BIN_DIRS]


def uplink(node: str, outside: str) -> None:
    fd = netns.open_netns(outside)
    try:
        with Netlink.open(node) as nl, Netlink.open(outside) as out:
            up = nl.add_veth("bthup1", "up0", fd, 1500)
            nl.set_up(up.index)
            nl.ensure_addr(up.index, ipaddress.ip_interface(f"{NODE_IP}/30"))
            peer = out.require_link("up0")
            out.set_up(peer.index)
            out.ensure_addr(peer.index, ipaddress.ip_interface("10.250.1.2/30"))
    finally:
        os.close(fd)


def reaches(client_ns: str, ip: str, port: int, server: socket.socket) -> bool:
    """Connect from ``client_ns``; True if the pod's listener got the connection."""
    try:
        with netns.entered(client_ns):
            client = socket.create_connection((ip, port), timeout=2)
    except OSError:
        return False
    with client:
        conn, _ = server.accept()
        with conn:
            client.sendall(b"ping")
            conn.sendall(conn.recv(16).upper())
            return client.recv(16) == b"PING"


@pytest.mark.parametrize("flavour", ["berth", "reference"])
def test_host_port_from_everywhere_and_gone_after_del(
    tmp_path: Path, node: str, make_netns: MakeNetns, bin_dirs: list[str], flavour: str
) -> None:
    outside = make_netns("out")
    uplink(node, outside)
    main, ipam, portmap = (("berth-bridge", "berth-host-local", "berth-portmap")
                           if flavour == "berth" else ("bridge", "host-local", "portmap"))
    data = {"cniVersion": "1.0.0", "name": "pmnet", "plugins": [
        {"type": main, "bridge": "bthbr4", "isDefaultGateway": True, "hairpinMode": True,
         "ipam": {"type": ipam, "dataDir": str(tmp_path / "ipam"),
                  "ranges": [[{"subnet": "10.244.7.0/24"}]]}},
        {"type": portmap, "capabilities": {"portMappings": True}}]}
    net = load_conf_bytes(json.dumps(data).encode(), "pm.conflist")
    client = CNIClient(bin_dirs, str(tmp_path / "cache"))
    a, b = make_netns("a"), make_netns("b")
    mapping = {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}
    with netns.entered(node):
        ra = client.add(net, RuntimeConf("ca", a, capability_args=mapping))
        client.add(net, RuntimeConf("cb", b))
        if flavour == "berth":  # the reference portmap's CHECK wants ip6tables chains it
            client.check(net, RuntimeConf("ca", a, capability_args=mapping))  # never made
    pod_ip = str(ra.ips[0].address.ip)
    with netns.entered(a):
        server = socket.create_server(("0.0.0.0", 80))
    with server:
        server.settimeout(2)
        assert reaches(outside, NODE_IP, 8080, server)  # prerouting
        assert reaches(node, NODE_IP, 8080, server)  # the node itself (output)
        assert reaches(node, "127.0.0.1", 8080, server)  # localhost
        assert reaches(b, NODE_IP, 8080, server)  # a neighbour pod
        assert reaches(a, NODE_IP, 8080, server)  # hairpin: the pod to its own host port
        assert reaches(b, pod_ip, 80, server)  # and directly
        with netns.entered(node):
            client.delete(net, RuntimeConf("ca", a, capability_args=mapping))
        assert not reaches(outside, NODE_IP, 8080, server)
    with netns.entered(node):
        client.delete(net, RuntimeConf("cb", b))
        if flavour == "berth":
            assert nft.list_table("inet", "berth-hostport") is None


def test_gc_removes_rules_of_attachments_not_in_the_valid_set(
    tmp_path: Path, node: str, make_netns: MakeNetns, bin_dirs: list[str]
) -> None:
    data = {"cniVersion": "1.1.0", "name": "pmgc", "plugins": [
        {"type": "berth-bridge", "bridge": "bthbr5", "isGateway": True,
         "ipam": {"type": "berth-host-local", "dataDir": str(tmp_path / "ipam"),
                  "ranges": [[{"subnet": "10.244.8.0/24"}]]}},
        {"type": "berth-portmap", "capabilities": {"portMappings": True}}]}
    net = load_conf_bytes(json.dumps(data).encode(), "pmgc.conflist")
    client = CNIClient(bin_dirs, str(tmp_path / "cache"))
    pods = [make_netns(f"g{n}") for n in range(2)]
    with netns.entered(node):
        for n, pod in enumerate(pods):
            client.add(net, RuntimeConf(f"c{n}", pod, capability_args={"portMappings": [
                {"hostPort": 9000 + n, "containerPort": 80}]}))
        client.gc(net, [])
        assert nft.list_table("inet", "berth-hostport") is None
        assert [p.name for p in (tmp_path / "ipam" / "pmgc").iterdir()] == ["last_reserved_ip.0"]
