"""The fast path on the real kernel: installed plugins exec'd inside a node namespace talk to a
``FastPathServer`` running in the test process (the root namespace), which does the work in
the caller's namespace; berth-net builds the node's chain from subnet.env."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from berth.cni.client import CNIClient, RuntimeConf, pod_args
from berth.cni.confdir import load_conf_bytes
from berth.cni.install import install
from berth.cni.plugins.bridge_conf import host_veth_name
from berth.cni.server import FastPathServer
from berth.host import netns
from berth.host.netlink import Netlink

from .conftest import MakeNetns, ping

pytestmark = pytest.mark.root


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    install(tmp_path / "bin")
    return tmp_path / "bin"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FastPathServer]:
    srv = FastPathServer(str(tmp_path / "cni.sock"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def bridge_conf(tmp_path: Path) -> bytes:
    return json.dumps({"cniVersion": "1.0.0", "name": "fpnet", "type": "berth-bridge",
                       "bridge": "bthfp0", "isGateway": True,
                       "ipam": {"type": "berth-host-local", "dataDir": str(tmp_path / "ipam"),
                                "ranges": [[{"subnet": "10.244.7.0/24"}]]}}).encode()


def run(node: str, binary: Path, command: str, cid: str, pod: str, sock: str, stdin: bytes
        ) -> tuple[int, Any]:
    env = {"CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_NETNS": pod,
           "CNI_IFNAME": "eth0", "CNI_PATH": str(binary.parent), "BERTH_CNI_SOCKET": sock}
    with netns.entered(node):
        proc = subprocess.run([str(binary)], input=stdin, env=env, capture_output=True,
                              timeout=60, check=False)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None


def ip_files(tmp_path: Path, network: str = "fpnet") -> list[str]:
    d = tmp_path / "ipam" / network
    return sorted(p.name for p in d.iterdir() if p.name[0].isdigit()) if d.exists() else []


def test_served_add_works_in_the_callers_namespace(tmp_path: Path, node: str,
                                                   make_netns: MakeNetns, bin_dir: Path,
                                                   server: FastPathServer) -> None:
    pods = [make_netns(f"p{n}") for n in range(2)]
    addrs = []
    for n, pod in enumerate(pods):
        code, out = run(node, bin_dir / "berth-bridge", "ADD", f"c{n}", pod, server.path,
                        bridge_conf(tmp_path))
        assert code == 0, out
        addrs.append(out["ips"][0]["address"].split("/")[0])
    with Netlink.open() as root:
        assert root.get_link("bthfp0") is None  # the server's own namespace is untouched
    with Netlink.open(node) as nl:
        assert nl.require_link("bthfp0").kind == "bridge"
    assert ping(pods[0], addrs[1]) and ping(pods[1], addrs[0])
    for n, pod in enumerate(pods):
        assert run(node, bin_dir / "berth-bridge", "DEL", f"c{n}", pod, server.path,
                   bridge_conf(tmp_path)) == (0, None)
        # containerd's second DEL: no netns, no prevResult
        assert run(node, bin_dir / "berth-bridge", "DEL", f"c{n}", "", server.path,
                   bridge_conf(tmp_path)) == (0, None)
    assert ip_files(tmp_path) == []  # released before DEL answered
    server.background.wait()
    with Netlink.open(node) as nl:
        assert [link.name for link in nl.links() if link.kind == "veth"] == []


def test_add_after_a_del_of_the_same_attachment_waits_for_its_cleanup(
        tmp_path: Path, node: str, make_netns: MakeNetns, bin_dir: Path,
        server: FastPathServer) -> None:
    pod = make_netns("p")
    for _ in range(3):
        code, out = run(node, bin_dir / "berth-bridge", "ADD", "same", pod, server.path,
                        bridge_conf(tmp_path))
        assert code == 0, out
        assert run(node, bin_dir / "berth-bridge", "DEL", "same", pod, server.path,
                   bridge_conf(tmp_path)) == (0, None)
    server.background.wait()
    with Netlink.open(node) as nl:
        assert nl.get_link(host_veth_name("same", "eth0")) is None


@pytest.mark.slow
def test_100_concurrent_adds_through_the_fast_path(tmp_path: Path, node: str,
                                                   make_netns: MakeNetns, bin_dir: Path,
                                                   server: FastPathServer) -> None:
    pods = [make_netns(f"s{n}") for n in range(100)]
    conf = bridge_conf(tmp_path)

    def add(n: int) -> str:
        code, out = run(node, bin_dir / "berth-bridge", "ADD", f"c{n}", pods[n], server.path,
                        conf)
        assert code == 0, out
        return str(out["ips"][0]["address"])

    def delete(n: int) -> int:
        return run(node, bin_dir / "berth-bridge", "DEL", f"c{n}", pods[n], server.path,
                   conf)[0]

    with ThreadPoolExecutor(25) as pool:
        ips = list(pool.map(add, range(100)))
        assert len(set(ips)) == 100
        assert len(ip_files(tmp_path)) == 100
        assert list(pool.map(delete, range(100))) == [0] * 100
    assert ip_files(tmp_path) == []
    server.background.wait()
    with Netlink.open(node) as nl:
        assert [link.name for link in nl.links() if link.kind == "veth"] == []


def net_conflist(tmp_path: Path) -> bytes:
    return json.dumps({"cniVersion": "1.0.0", "name": "nodenet", "plugins": [
        {"type": "berth-net", "subnetFile": str(tmp_path / "subnet.env"), "bridge": "bthnet0",
         "dataDir": str(tmp_path / "net"), "ipamDataDir": str(tmp_path / "ipam")},
        {"type": "berth-portmap", "capabilities": {"portMappings": True}},
        {"type": "berth-loopback"}]}).encode()


@pytest.mark.parametrize("served", [True, False], ids=["served", "in-process"])
def test_berth_net_chain_from_subnet_env(tmp_path: Path, node: str, make_netns: MakeNetns,
                                         bin_dir: Path, served: bool) -> None:
    (tmp_path / "subnet.env").write_text(
        "BERTH_NETWORK=10.244.0.0/16\nBERTH_SUBNET=10.244.5.1/24\nBERTH_MTU=1400\n"
        "BERTH_IPMASQ=false\n")
    sock = str(tmp_path / "cni.sock")
    os.environ["BERTH_CNI_SOCKET"] = sock
    srv = FastPathServer(sock) if served else None
    try:
        if srv:
            srv.start()
        net = load_conf_bytes(net_conflist(tmp_path), "node.conflist")
        client = CNIClient([str(bin_dir)], str(tmp_path / "cache"))
        pods = [make_netns(f"n{n}") for n in range(2)]
        rts = [RuntimeConf(f"c{n}", pod, "eth0", pod_args("default", f"p{n}", f"c{n}", "u"))
               for n, pod in enumerate(pods)]
        with netns.entered(node):
            results = [client.add(net, rt) for rt in rts]
        addrs = [str(r.ips[0].address.ip) for r in results]
        assert all(a.startswith("10.244.5.") for a in addrs)
        assert str(results[0].ips[0].gateway) == "10.244.5.1"
        with Netlink.open(pods[0]) as nl:
            assert nl.require_link("eth0").mtu == 1400
            assert nl.require_link("lo").up
        assert ping(pods[0], addrs[1]) and ping(pods[1], "10.244.5.1")
        with netns.entered(node):
            client.check(net, rts[0])
            for rt in rts:
                client.delete(net, rt)
        assert ip_files(tmp_path, "nodenet") == []
        assert os.listdir(tmp_path / "net") == []
    finally:
        del os.environ["BERTH_CNI_SOCKET"]
        if srv:
            srv.stop()
