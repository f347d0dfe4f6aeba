"""Issue 5's acceptance, end to end: ``berth up --nodes 3`` with each backend.

One cluster per backend (module scope; ``berth down`` and the no-trace check
run in the fixture's finally).  Real busybox pods are created through the
API, placed by the scheduler; every pod reaches every other by ICMP and TCP
(``berth exec``), and the receiving httpd logs the real source address (no
NAT).  Then a node's one process (kubelet + network agent + CNI fast path) is
SIGKILLed and restarted while a ping loop measures the longest gap; then a
4th node joins (``berth up --add-node``) and leaves (``berth down --node``).
The host-gw cluster also uses a non-default pod CIDR and node mask, which
the server's node IPAM controller must honour.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.cluster import probe
from berth.host import netns

from .conftest import Cluster, up_cluster, web_pod  # type: ignore[import-not-found]

pytestmark = [pytest.mark.slow, pytest.mark.root]
SETTINGS = {"vxlan": ("10.244.0.0/16", 24), "host-gw": ("10.250.0.0/16", 25)}
PODS = [f"w{i}" for i in range(6)]


@pytest.fixture(scope="module", params=["vxlan", "host-gw"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:
    cidr, mask = SETTINGS[request.param]
    with up_cluster(tmp_path_factory.mktemp("home"), "--nodes", "3", "--backend",
                    request.param, "--pod-network-cidr", cidr,
                    "--node-cidr-mask-size", str(mask)) as c:
        c.backend = request.param  # type: ignore[attr-defined]
        yield c


def node_cidrs(cluster: Cluster) -> dict[str, str]:
    listed = json.loads(cluster.berth("get", "nodes", "-o", "json").stdout)
    return {n["metadata"]["name"]: n["spec"].get("podCIDR", "") for n in listed["items"]}


def test_every_node_is_ready_with_a_subnet_from_the_ipam_controller(cluster: Cluster) -> None:
    cidr, mask = SETTINGS[cluster.backend]  # type: ignore[attr-defined]
    status = cluster.berth("status").stdout
    assert status.count(" True ") == 3 and f"backend {cluster.backend}" in status  # type: ignore[attr-defined]
    subnets = node_cidrs(cluster)
    assert sorted(subnets) == [cluster.node(k) for k in (1, 2, 3)]
    nets = [ipaddress.ip_network(s) for s in subnets.values()]
    assert len(set(nets)) == 3
    assert all(n.prefixlen == mask and n.subnet_of(ipaddress.ip_network(cidr))  # type: ignore[arg-type]
               for n in nets)
    assert all(s in status for s in subnets.values())


def test_scheduled_pods_reach_every_other_pod_with_their_own_source_ip(
        cluster: Cluster) -> None:
    cluster.apply(*(web_pod(name) for name in PODS))
    pods = cluster.wait_running(set(PODS))
    assert {p["node"] for p in pods.values()} == {cluster.node(k) for k in (1, 2, 3)}
    ips = {name: p["ip"] for name, p in pods.items()}
    for src in PODS:
        others = " ".join(ip for name, ip in ips.items() if name != src)
        script = (f"for ip in {others}; do ping -c 1 -W 3 $ip >/dev/null && echo icmp $ip; "
                  "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc $ip 8080 "
                  "| grep -q 200 && echo tcp $ip; done")
        out = cluster.berth("exec", src, "--", "sh", "-c", script).stdout.split("\n")
        for name, ip in ips.items():
            if name != src:
                assert f"icmp {ip}" in out and f"tcp {ip}" in out, f"{src} -> {name}: {out}"
    for dst in PODS:
        log = cluster.berth("logs", dst).stdout
        seen = {line.split("]")[0].rsplit(":", 1)[-1] for line in log.splitlines()
                if line.startswith("[::ffff:")}
        assert seen == {ip for name, ip in ips.items() if name != dst}, f"{dst} saw {seen}"


class PingLoop:
    """Ping ``dst`` from namespace ``ns`` every 20 ms; the longest time without a reply."""

    def __init__(self, ns: str, dst: str) -> None:
        self.ns, self.dst = ns, dst
        self.replies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seq = 0
        while not self._stop.is_set():
            seq = (seq + 1) & 0xFFFF
            if probe.ping(self.ns, self.dst, timeout=0.2, seq=seq) is not None:
                self.replies.append(time.monotonic())
            time.sleep(0.02)

    def __enter__(self) -> PingLoop:
        self.start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.end = time.monotonic()

    @property
    def longest_gap(self) -> float:
        stamps = [self.start, *self.replies, self.end]
        return max(b - a for a, b in itertools.pairwise(stamps))


def test_sigkill_of_a_node_process_keeps_its_pods_connected(cluster: Cluster) -> None:
    pods = cluster.wait_running(set(PODS))
    n1, n2, n3 = (cluster.node(k) for k in (1, 2, 3))
    src = next(name for name, p in pods.items() if p["node"] == n1)
    dst = next(name for name, p in pods.items() if p["node"] == n2)
    ns = cluster.pod_netns(n1, pods[src]["ip"])
    routes = cluster.owned_routes(n1)
    subnet3 = node_cidrs(cluster)[n3]
    assert subnet3 in routes
    with PingLoop(ns, pods[dst]["ip"]) as loop:
        time.sleep(0.5)
        os.kill(cluster.node_pid(n1), signal.SIGKILL)
        time.sleep(1.0)
        # Drift while nobody watches: the restarted agent must put this back.
        subprocess.run(["ip", "-n", f"berth-{n1}", "route", "del", subnet3], check=True)
        cluster.berth("up", "--restart-node", n1)
        deadline = time.monotonic() + 20
        while cluster.owned_routes(n1) != routes and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
    print(f"longest ping gap {loop.longest_gap * 1000:.0f} ms across SIGKILL + restart "
          f"({cluster.backend})")  # type: ignore[attr-defined]
    assert cluster.owned_routes(n1) == routes
    assert loop.longest_gap < 1.0 and len(loop.replies) > 20
    after = cluster.wait_running(set(PODS))
    assert {n: p["ip"] for n, p in after.items()} == {n: p["ip"] for n, p in pods.items()}
    restarts = [c.get("restartCount", 0) for p in cluster.pods().values()
                for c in p["status"].get("containerStatuses") or []]
    assert restarts and not any(restarts)


def test_a_fourth_node_joins_and_leaves_without_a_trace(cluster: Cluster) -> None:
    pods = cluster.wait_running(set(PODS))
    peers = [cluster.node(k) for k in (1, 2, 3)]
    n4 = cluster.node(4)
    out = cluster.berth("up", "--add-node")
    assert n4 in out.stderr and "Ready" in out.stderr
    subnet4 = node_cidrs(cluster)[n4]
    ip4 = next(n["ip"] for n in cluster.state()["nodes"] if n["name"] == n4)
    vxlan = cluster.backend == "vxlan"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(
            subnet4 in cluster.owned_routes(p) and (not vxlan or ip4 in cluster.fdb(p))
            for p in peers):
        time.sleep(0.2)
    for peer in peers:
        assert subnet4 in cluster.owned_routes(peer), peer
        assert (ip4 in cluster.fdb(peer)) == vxlan, peer
    cluster.apply(web_pod("joiner", n4))
    p4 = cluster.wait_running({"joiner"})["joiner"]
    assert ipaddress.ip_address(p4["ip"]) in ipaddress.ip_network(subnet4)
    target = pods["w0"]["ip"]
    cluster.berth("exec", "joiner", "--", "ping", "-c", "1", "-W", "3", target)
    cluster.berth("exec", "w0", "--", "ping", "-c", "1", "-W", "3", p4["ip"])

    cluster.berth("down", "--node", n4)
    assert not netns.exists(f"berth-{n4}") and not netns.list_netns(f"berth-{n4}-")
    assert n4 not in node_cidrs(cluster) and "joiner" not in cluster.pods()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(
            subnet4 in cluster.owned_routes(p) or ip4 in cluster.fdb(p) for p in peers):
        time.sleep(0.2)
    for peer in peers:
        assert subnet4 not in cluster.owned_routes(peer), peer
        assert ip4 not in cluster.fdb(peer), peer
        neigh = subprocess.run(["ip", "-n", f"berth-{peer}", "neigh"], capture_output=True,
                               text=True, check=False).stdout
        assert str(ipaddress.ip_network(subnet4).network_address) not in neigh
    assert not Path(cluster.home / "nodes" / n4).exists()
    assert n4 not in cluster.berth("status").stdout
