"""``berth init`` / ``berth join`` with node namespaces standing in for machines.

The test wires three "machines" (``berth-t<hex>-node1..3``) to an underlay
bridge in a fabric namespace (nothing in the root namespace), runs ``berth
init`` in the first, ``berth join`` with the printed token and CA pin in the
second, and ``berth join`` with a wrong token in the third: that one fails
with one clear line and makes nothing.  Pods on the two machines reach each
other with their own source addresses; ``berth down`` on each machine
removes its routes, VXLAN device and bridge.  Every process runs with
``nsenter --net`` into its machine and its own ``BERTH_HOME``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.api.addressplan import AddressPlan
from berth.cluster import probe
from berth.cluster.topology import (
    Topology,
    plan_topology,
    setup_fabric,
    setup_node,
    teardown_topology,
)
from berth.host import netns
from berth.host.fabric import Fabric
from berth.host.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.root]
BERTH = str(Path(sys.executable).with_name("berth"))


class Machines:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        tag = "t" + secrets.token_hex(3)
        underlay = ipaddress.IPv4Network(f"198.18.{100 + secrets.randbelow(150)}.0/24")
        self.topo: Topology = plan_topology(3, AddressPlan.parse(), cluster=tag,
                                            underlay=underlay, host_link=False)
        self.port = free_port(2)  # --port and the join service on --port + 1

    def berth(self, k: int, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BERTH_HOME": str(self.tmp / f"m{k}")}
        node = self.topo.nodes[k - 1]
        done = subprocess.run(["nsenter", f"--net={netns.netns_path(node.netns)}", BERTH, *args],
                              env=env, capture_output=True, text=True, timeout=240,
                              check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)}: {done.stdout}{done.stderr}")
        return done


@pytest.fixture
def machines(tmp_path: Path) -> Iterator[Machines]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    m = Machines(tmp_path)
    setup_fabric(m.topo)
    for node in m.topo.nodes:
        setup_node(m.topo, node)
    try:
        yield m
    finally:
        for k in (3, 2, 1):
            if (tmp_path / f"m{k}" / "cluster.json").exists():
                done = m.berth(k, "down", check=False)
                print(done.stdout, done.stderr)
            for log in sorted((tmp_path / f"m{k}" / "logs").glob("*.log")):
                print(f"---- m{k} {log.name} ----\n{log.read_text(errors='replace')[-3000:]}")
        names = [n.netns for n in m.topo.nodes]
        leftovers = [ns for n in names for ns in netns.list_netns(f"{n}-")]
        teardown_topology(m.topo.fabric_netns, [*leftovers, *names], "")


def pod_netns(ip: str, prefix: str) -> str:
    from berth.host.netlink import Netlink

    for name in netns.list_netns(prefix):
        with Netlink.open(name) as nl:
            if any(str(a.ip) == ip for link in nl.links() for a in nl.addrs(link.index)):
                return name
    raise AssertionError(f"no namespace {prefix}* holds {ip}")


def test_init_join_bad_token_pods_talk_and_down_cleans(machines: Machines) -> None:
    m1, m2, _ = machines.topo.nodes
    tag = machines.topo.cluster
    init = machines.berth(1, "init", "--advertise-address", str(m1.underlay_ip.ip),
                          "--node-name", f"{tag}-m1", "--port", str(machines.port))
    command = init.stdout.strip().splitlines()[-1].split()
    assert command[:2] == ["berth", "join"] and "--ca-cert-hash" in command
    token = command[command.index("--token") + 1]
    # A wrong token: one line, nothing made on that machine.
    wrong = token[:7] + ("a" if token[7] != "a" else "b") + token[8:]
    bad = machines.berth(3, *command[1:3], "--token", wrong,
                         "--ca-cert-hash", command[command.index("--ca-cert-hash") + 1],
                         "--node-name", f"{tag}-m3", check=False)
    assert bad.returncode == 1 and "refused the bootstrap token" in bad.stderr
    assert not (machines.tmp / "m3" / "cluster.json").exists()
    # A wrong CA pin: refused before the token is sent.
    pin = machines.berth(3, *command[1:3], "--token", token, "--ca-cert-hash",
                         "sha256:" + "0" * 64, "--node-name", f"{tag}-m3", check=False)
    assert pin.returncode == 1 and "pinned" in pin.stderr
    machines.berth(2, *command[1:], "--node-name", f"{tag}-m2")
    manifest = machines.tmp / "pods.json"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{k}"},
         "spec": {"nodeName": f"{tag}-m{k}", "terminationGracePeriodSeconds": 1,
                  "containers": [{"name": "c", "image": "busybox",
                                  "command": ["sleep", "3600"]}]}} for k in (1, 2)]}))
    machines.berth(1, "apply", "-f", str(manifest))
    ips: dict[str, str] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(ips) < 2:
        pods = json.loads(machines.berth(1, "get", "pods", "-o", "json").stdout)["items"]
        ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods
               if p["status"].get("phase") == "Running" and p["status"].get("podIP")}
        time.sleep(0.5)
    assert len(ips) == 2, ips
    ns1, ns2 = pod_netns(ips["p1"], f"berth-{tag}-m1-"), pod_netns(ips["p2"], f"berth-{tag}-m2-")
    assert probe.wait_ping(ns1, ips["p2"], 10) and probe.wait_ping(ns2, ips["p1"], 10)
    assert probe.tcp_source_seen(ns2, ips["p2"], ns1) == ips["p1"]
    machines.berth(2, "down")
    machines.berth(1, "down")
    for node in (m1, m2):
        with Fabric.open(node.netns) as fab:
            assert fab.owned_routes() == []
            assert fab.get_link("bth.vxlan") is None and fab.get_link("bth0") is None
    assert not netns.list_netns(f"berth-{tag}-m")
