"""bench/net: cross-node pod-to-pod throughput and RTT, berth vs hand-built; route convergence.

One run, everything in namespaces the bench creates (``berth-b<hex>-...``) and
removes, also on failure; nothing in the root namespace.

- datapath: for each backend (vxlan, host-gw), two node namespaces on an
  underlay bridge with one pod each, programmed once by berth's network agent
  (``berth.netagent.apply``: the code the agent runs) and once by plain ``ip``
  / ``bridge`` commands building the same topology; iperf3 single stream
  (``-t`` seconds, several runs, alternating) and ICMP RTT (50 echoes) between
  the pods, medians, ratio berth / hand-built.
- convergence: N node namespaces each running a real ``NetworkAgent`` against
  a real API server; a Node joins (is created with its subnet) and leaves (is
  deleted), T trials each: time until every agent's kernel has (or no longer
  has) the route, p50/p99.

    .venv/bin/python -m bench.net [--iperf-seconds 3] [--runs 3] [--nodes 10] [--trials 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import median, percentile
from berth.api.addressplan import DEFAULT_PLAN, AddressPlan
from berth.cluster import probe
from berth.cluster.topology import (
    NODE_UNDERLAY,
    NodeWiring,
    Topology,
    plan_topology,
    setup_fabric,
    setup_node,
    teardown_topology,
)
from berth.cni.defaults import BRIDGE as CNI_BRIDGE
from berth.host import netns
from berth.host.fabric import Fabric
from berth.host.netlink import Netlink
from berth.netagent import apply
from berth.netagent.config import AgentConfig
from berth.netagent.plan import Peer, plan_changes, plan_desired


def pod_subnet(node: NodeWiring) -> ipaddress.IPv4Network:
    """The subnet node k is given by hand here: the k-th of the cluster range."""
    return ipaddress.IPv4Network(DEFAULT_PLAN.node_subnet(node.index - 1))


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def in_ns(ns: str, *argv: str) -> None:
    sh("nsenter", f"--net={netns.netns_path(ns)}", *argv)


# -- berth-built -----------------------------------------------------------------------------

def add_pod(topo: Topology, k: int, pod_ns: str) -> str:
    """A pod on node ``k`` (0-based) on the node's bridge; returns its IP."""
    node = topo.nodes[k]
    gw, ip = pod_subnet(node).network_address + 1, pod_subnet(node).network_address + 10
    mtu = topo.network.pod_mtu
    path = netns.create_netns(pod_ns)
    with Netlink.open(node.netns) as nl:
        br = nl.ensure_bridge(CNI_BRIDGE, mtu)
        nl.ensure_addr(br.index, ipaddress.IPv4Interface(f"{gw}/{pod_subnet(node).prefixlen}"))
        fd = netns.open_netns(path)
        try:
            veth = nl.add_veth("bthp0", "eth0", fd, mtu, master=br.index)
        finally:
            os.close(fd)
        nl.set_up(veth.index)
    with Netlink.open(path) as nl:
        nl.set_up(nl.require_link("lo").index)
        eth = nl.require_link("eth0")
        nl.ensure_addr(eth.index, ipaddress.IPv4Interface(f"{ip}/{pod_subnet(node).prefixlen}"))
        nl.set_up(eth.index)
        nl.replace_route(ipaddress.IPv4Network("0.0.0.0/0"), gw, eth.index)
    return str(ip)


def berth_datapath(topo: Topology) -> None:
    """Program both nodes exactly as the network agent does."""
    configs = [AgentConfig(node_name=n.name, cluster=topo.network, public_ip=n.underlay_ip.ip,
                           underlay_device=NODE_UNDERLAY, netns=n.netns) for n in topo.nodes]
    fabs = [Fabric.open(n.netns) for n in topo.nodes]
    try:
        links = [apply.setup_local(f, c, pod_subnet(n))
                 for f, c, n in zip(fabs, configs, topo.nodes, strict=True)]
        peers = [Peer(n.name, pod_subnet(n), n.underlay_ip.ip, topo.network.backend, lk.vtep_mac)
                 for n, lk in zip(topo.nodes, links, strict=True)]
        for fab, cfg, n, lk in zip(fabs, configs, topo.nodes, links, strict=True):
            desired = plan_desired(apply.local_for(cfg, pod_subnet(n), lk), peers)
            apply.apply_changes(fab, lk, plan_changes(desired, apply.observe(fab, lk)))
    finally:
        for f in fabs:
            f.close()


# -- hand-built with ip commands -------------------------------------------------------------

def hand_topology(tag: str, backend: str, underlay: str) -> dict[str, Any]:
    """The same two-node topology and pods with ``ip``/``bridge`` commands only."""
    fab, nodes, pods = f"berth-{tag}-hfab", [f"berth-{tag}-h{k}" for k in (1, 2)], \
        [f"berth-{tag}-h{k}p" for k in (1, 2)]
    made = {"netns": [fab, *nodes, *pods]}
    base = ipaddress.IPv4Network(underlay).network_address
    for ns in made["netns"]:
        sh("ip", "netns", "add", ns)
        in_ns(ns, "ip", "link", "set", "lo", "up")
    in_ns(fab, "ip", "link", "add", "bthbr0", "type", "bridge")
    in_ns(fab, "ip", "link", "set", "bthbr0", "up")
    mtu = 1450 if backend == "vxlan" else 1500
    for k, (node, pod) in enumerate(zip(nodes, pods, strict=True), 1):
        under = f"{base + 10 + k}"
        in_ns(fab, "ip", "link", "add", f"bthf{k}", "master", "bthbr0", "type", "veth",
              "peer", "name", "bthu0", "netns", node)
        in_ns(fab, "ip", "link", "set", f"bthf{k}", "up")
        in_ns(node, "ip", "addr", "add", f"{under}/24", "dev", "bthu0")
        in_ns(node, "ip", "link", "set", "bthu0", "up")
        in_ns(node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        in_ns(node, "ip", "link", "add", "bth0", "mtu", str(mtu), "type", "bridge")
        in_ns(node, "ip", "addr", "add", f"10.244.{k - 1}.1/24", "dev", "bth0")
        in_ns(node, "ip", "link", "set", "bth0", "up")
        in_ns(node, "ip", "link", "add", "bthp0", "mtu", str(mtu), "master", "bth0", "type",
              "veth", "peer", "name", "eth0", "netns", pod)
        in_ns(node, "ip", "link", "set", "bthp0", "up")
        in_ns(pod, "ip", "addr", "add", f"10.244.{k - 1}.10/24", "dev", "eth0")
        in_ns(pod, "ip", "link", "set", "eth0", "up")
        in_ns(pod, "ip", "route", "add", "default", "via", f"10.244.{k - 1}.1")
        if backend == "vxlan":
            in_ns(node, "ip", "link", "add", "bth.vxlan", "type", "vxlan", "id", "1", "local",
                  under, "dev", "bthu0", "dstport", "8472", "nolearning")
            in_ns(node, "ip", "link", "set", "bth.vxlan", "mtu", "1450", "address",
                  f"02:00:00:00:00:0{k}", "up")
            in_ns(node, "ip", "addr", "add", f"10.244.{k - 1}.0/32", "dev", "bth.vxlan")
    for k, node in enumerate(nodes, 1):
        j = 3 - k  # the other node
        peer_under, peer_net = f"{base + 10 + j}", f"10.244.{j - 1}"
        if backend == "vxlan":
            mac = f"02:00:00:00:00:0{j}"
            in_ns(node, "bridge", "fdb", "append", mac, "dev", "bth.vxlan", "dst", peer_under)
            in_ns(node, "ip", "neigh", "replace", f"{peer_net}.0", "lladdr", mac, "dev",
                  "bth.vxlan", "nud", "permanent")
            in_ns(node, "ip", "route", "add", f"{peer_net}.0/24", "via", f"{peer_net}.0", "dev",
                  "bth.vxlan", "onlink")
        else:
            in_ns(node, "ip", "route", "add", f"{peer_net}.0/24", "via", peer_under)
    return {"pods": pods, "ips": ["10.244.0.10", "10.244.1.10"], **made}


# -- measuring -------------------------------------------------------------------------------

def iperf(server_ns: str, client_ns: str, address: str, seconds: int) -> float:
    srv = subprocess.Popen(["nsenter", f"--net={netns.netns_path(server_ns)}", "iperf3", "-s",
                            "-1", "-B", address], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        done = subprocess.run(["nsenter", f"--net={netns.netns_path(client_ns)}", "iperf3",
                               "-c", address, "-t", str(seconds), "-J"], capture_output=True,
                              check=True)
        return float(json.loads(done.stdout)["end"]["sum_received"]["bits_per_second"]) / 1e9
    finally:
        srv.kill()
        srv.wait()


def rtt_ms(src: str, dst: str, count: int = 50) -> float:
    samples = [probe.ping(src, dst, timeout=1.0, seq=i + 1) for i in range(count)]
    return median([s * 1000 for s in samples if s is not None])


def datapath(backend: str, seconds: int, runs: int) -> dict[str, float]:
    tag = "b" + secrets.token_hex(3)
    topo = plan_topology(2, AddressPlan.parse(backend=backend), cluster=tag,
                         host_link=False, underlay=ipaddress.IPv4Network("198.18.200.0/24"))
    pods = [f"berth-{tag}-p1", f"berth-{tag}-p2"]
    hand: dict[str, Any] = {"netns": []}
    try:
        setup_fabric(topo)
        for n in topo.nodes:
            setup_node(topo, n)
        ips = [add_pod(topo, k, pods[k]) for k in (0, 1)]
        berth_datapath(topo)
        hand = hand_topology(tag, backend, "198.18.201.0/24")
        assert probe.wait_ping(pods[0], ips[1]) and probe.wait_ping(hand["pods"][0],
                                                                    hand["ips"][1])
        b_gbps, h_gbps = [], []
        for i in range(runs):  # alternate which goes first: the machine is noisy
            pair = [lambda: b_gbps.append(iperf(pods[1], pods[0], ips[1], seconds)),
                    lambda: h_gbps.append(iperf(hand["pods"][1], hand["pods"][0],
                                                hand["ips"][1], seconds))]
            for measure in pair if i % 2 == 0 else reversed(pair):
                measure()
        return {"berth_gbps": median(b_gbps), "hand_gbps": median(h_gbps),
                "berth_rtt_ms": rtt_ms(pods[0], ips[1]),
                "hand_rtt_ms": rtt_ms(hand["pods"][0], hand["ips"][1])}
    finally:
        for ns in [*pods, *hand["netns"]]:
            netns.delete_netns(ns)
        teardown_topology(topo.fabric_netns, [n.netns for n in topo.nodes], "")


# -- convergence -----------------------------------------------------------------------------

async def convergence(node_count: int, trials: int, backend: str) -> dict[str, float]:
    from berth.api.resources import by_key
    from berth.client import Client, load_config
    from berth.netagent.agent import NetworkAgent
    from berth.server import ServerConfig, start_server

    nodes_res = by_key("nodes")
    assert nodes_res is not None
    tag = "c" + secrets.token_hex(3)
    topo = plan_topology(node_count, AddressPlan.parse(backend=backend), cluster=tag,
                         host_link=False, underlay=ipaddress.IPv4Network("198.18.202.0/24"))
    tasks: list[asyncio.Task[None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        running = await start_server(ServerConfig(data_dir=Path(tmp) / "server", port=0))
        client = Client(load_config(str(running.kubeconfig), {}))
        try:
            await asyncio.to_thread(setup_fabric, topo)
            for n in topo.nodes:
                await asyncio.to_thread(setup_node, topo, n)
                await client.create(nodes_res, _node(n.name, str(pod_subnet(n)),
                                                     str(n.underlay_ip.ip)))
                agent = NetworkAgent(AgentConfig(
                    node_name=n.name, cluster=topo.network, public_ip=n.underlay_ip.ip,
                    underlay_device=NODE_UNDERLAY, netns=n.netns,
                    subnet_file=Path(tmp) / n.name / "subnet.env"), client)
                tasks.append(asyncio.create_task(agent.run()))
            newcomer = str(topo.network.node_subnet(node_count + 5))
            joins, leaves = [], []
            for i in range(trials):
                name = f"{tag}-x{i}"
                start = time.monotonic()
                await client.create(nodes_res, _node(name, newcomer, "198.18.202.250",
                                                     vtep=f"02:00:00:00:01:{i:02x}"))
                await _until(topo, newcomer, present=True)
                joins.append(time.monotonic() - start)
                start = time.monotonic()
                await client.delete(nodes_res, None, name)
                await _until(topo, newcomer, present=False)
                leaves.append(time.monotonic() - start)
            return {"join_p50": percentile(joins, 50), "join_p99": percentile(joins, 99),
                    "leave_p50": percentile(leaves, 50), "leave_p99": percentile(leaves, 99)}
        finally:
            for t in tasks:
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            await client.close()
            await running.stop()
            await asyncio.to_thread(teardown_topology, topo.fabric_netns,
                                    [n.netns for n in topo.nodes], "")


def _node(name: str, cidr: str, ip: str, vtep: str = "") -> dict[str, Any]:
    notes = {"berth.dev/public-ip": ip, "berth.dev/backend-type": "vxlan",
             "berth.dev/vtep-mac": vtep or "02:00:00:00:00:ff"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": notes},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}


async def _until(topo: Topology, subnet: str, present: bool, timeout: float = 10.0) -> None:
    def check() -> bool:
        for n in topo.nodes:
            with Fabric.open(n.netns) as fab:
                if (subnet in {str(r.dst) for r in fab.owned_routes()}) != present:
                    return False
        return True

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.005)
    raise TimeoutError(f"routes to {subnet} did not converge in {timeout} s")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.net")
    p.add_argument("--iperf-seconds", type=int, default=3)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--nodes", type=int, default=10)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--skip-convergence", action="store_true")
    opts = p.parse_args()
    rows: list[tuple[str, ...]] = []
    for backend in ("vxlan", "host-gw"):
        r = datapath(backend, opts.iperf_seconds, opts.runs)
        rows.append((backend, f"{r['berth_gbps']:.2f}", f"{r['hand_gbps']:.2f}",
                     f"{r['berth_gbps'] / r['hand_gbps']:.2f}x", f"{r['berth_rtt_ms']:.3f}",
                     f"{r['hand_rtt_ms']:.3f}"))
    print(f"cross-node pod-to-pod, iperf3 single stream -t {opts.iperf_seconds}, median of "
          f"{opts.runs}; RTT median of 50 ICMP echoes")
    header = ("backend", "berth Gbit/s", "hand Gbit/s", "ratio", "berth RTT ms", "hand RTT ms")
    _table(header, rows)
    if opts.skip_convergence:
        return
    conv = asyncio.run(convergence(opts.nodes, opts.trials, "vxlan"))
    print(f"\nroute convergence, vxlan, {opts.nodes} nodes, {opts.trials} trials "
          "(Node create/delete -> route present/absent on every node)")
    _table(("event", "p50 ms", "p99 ms"),
           [("join", f"{conv['join_p50'] * 1000:.1f}", f"{conv['join_p99'] * 1000:.1f}"),
            ("leave", f"{conv['leave_p50'] * 1000:.1f}", f"{conv['leave_p99'] * 1000:.1f}")])


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt: Callable[[tuple[str, ...]], str] = lambda r: "  ".join(  # noqa: E731
        str(c).ljust(w) for c, w in zip(r, widths, strict=True))
    print(fmt(header))
    for r in rows:
        print(fmt(r))


if __name__ == "__main__":
    main()
