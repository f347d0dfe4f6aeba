"""bench/cni: exec'd CNI ADD/DEL latency and pod-to-pod throughput, berth vs the reference.

One run, on a node namespace the bench creates (and removes, also on failure):

- latency: per round, on fresh pod namespaces, ADD then DEL of three chains,
  alternating: the reference Go ``bridge`` + ``host-local`` (/usr/lib/cni), berth's
  ``berth-bridge`` + ``berth-host-local`` as installed by ``berth cni install``
  (the native client, and the ``python -IS`` wrapper) with the fast-path server
  running (in this process, serving the node's calls in the node's namespace),
  and with no server (the handler in-process: Python start-up plus pyroute2).  Each call is one exec
  from the node namespace, timed from fork to exit; medians over ``--rounds``.
- throughput: iperf3 (-t 3) between two pods on a berth bridge, and between two
  namespaces joined by a hand-built veth + bridge, alternating, medians.

Traffic stays between the bench's namespaces.

    .venv/bin/python -m bench.cni [--rounds 30] [--iperf-seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from berth.cni.install import install
from berth.cni.server import FastPathServer
from berth.host import netns
from berth.host.netlink import Netlink

REFERENCE = Path("/usr/lib/cni")


def conf(kind: str, ipam: str, bridge: str, subnet: str, data_dir: str) -> bytes:
    return json.dumps({"cniVersion": "1.0.0", "name": f"bench-{bridge}", "type": kind,
                       "bridge": bridge, "isGateway": True,
                       "ipam": {"type": ipam, "dataDir": data_dir,
                                "ranges": [[{"subnet": subnet}]]}}).encode()


def exec_ms(node: str, binary: Path, env: dict[str, str], stdin: bytes) -> float:
    with netns.entered(node):
        start = time.perf_counter()
        proc = subprocess.run([str(binary)], input=stdin, env=env, capture_output=True,
                              check=False)
        elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} {env['CNI_COMMAND']}: {proc.stdout.decode()}")
    return elapsed


def latency(node: str, tag: str, rounds: int, tmp: str, bin_dir: Path, py_dir: Path
            ) -> dict[str, dict[str, list[float]]]:
    sock = f"{tmp}/cni.sock"
    chains = {
        "reference bridge + host-local": (REFERENCE / "bridge", str(REFERENCE), "", conf(
            "bridge", "host-local", "bthbref", "10.250.1.0/24", f"{tmp}/ipam")),
        "berth, served, native client": (bin_dir / "berth-bridge", str(bin_dir), sock, conf(
            "berth-bridge", "berth-host-local", "bthbsrv", "10.250.2.0/24", f"{tmp}/ipam")),
        "berth, served, python -IS client": (py_dir / "berth-bridge", str(py_dir), sock, conf(
            "berth-bridge", "berth-host-local", "bthbpy", "10.250.6.0/24", f"{tmp}/ipam")),
        "berth, no server (in-process)": (bin_dir / "berth-bridge", str(bin_dir), "off", conf(
            "berth-bridge", "berth-host-local", "bthbinp", "10.250.3.0/24", f"{tmp}/ipam")),
    }
    out: dict[str, dict[str, list[float]]] = {k: {"ADD": [], "DEL": []} for k in chains}
    with FastPathServer(sock) as server:
        for r in range(rounds + 1):  # round 0 warms up caches and is dropped
            for name, (binary, path, socket_path, stdin) in chains.items():
                pod = netns.create_netns(f"berth-b-{tag}-{r}-{len(out[name]['ADD'])}x"
                                         f"{list(chains).index(name)}")
                try:
                    env = {"CNI_CONTAINERID": f"bench{r}", "CNI_NETNS": pod,
                           "CNI_IFNAME": "eth0", "CNI_PATH": path}
                    if socket_path:
                        env["BERTH_CNI_SOCKET"] = socket_path
                    add = exec_ms(node, binary, env | {"CNI_COMMAND": "ADD"}, stdin)
                    delete = exec_ms(node, binary, env | {"CNI_COMMAND": "DEL"}, stdin)
                finally:
                    netns.delete_netns(pod)
                if r:
                    out[name]["ADD"].append(add)
                    out[name]["DEL"].append(delete)
        server.background.wait()
    return out


def iperf(server_ns: str, client_ns: str, address: str, seconds: int) -> float:
    """Gbit/s received, single stream, from ``client_ns`` to ``address`` in ``server_ns``."""
    srv = subprocess.Popen(["nsenter", f"--net={server_ns}", "iperf3", "-s", "-1", "-B",
                            address], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        proc = subprocess.run(["nsenter", f"--net={client_ns}", "iperf3", "-c", address, "-t",
                               str(seconds), "-J"], capture_output=True, check=True)
        data: dict[str, Any] = json.loads(proc.stdout)
        return float(data["end"]["sum_received"]["bits_per_second"]) / 1e9
    finally:
        srv.kill()
        srv.wait()


def throughput(tag: str, tmp: str, bin_dir: Path, node: str, seconds: int, runs: int
               ) -> dict[str, float]:
    names: list[str] = []
    try:
        pods = []
        for role in ("a", "b"):
            names.append(f"berth-b-{tag}-ip{role}")
            pods.append(netns.create_netns(names[-1]))
        stdin = conf("berth-bridge", "berth-host-local", "bthbipf", "10.250.4.0/24",
                     f"{tmp}/ipam")
        for n, pod in enumerate(pods):
            exec_ms(node, bin_dir / "berth-bridge", {
                "CNI_COMMAND": "ADD", "CNI_CONTAINERID": f"ip{n}", "CNI_NETNS": pod,
                "CNI_IFNAME": "eth0", "CNI_PATH": str(bin_dir), "BERTH_CNI_SOCKET": "off"}, stdin)
        names.append(f"berth-b-{tag}-hnode")
        hnode = netns.create_netns(names[-1])
        hand = []
        for role in ("c", "d"):
            names.append(f"berth-b-{tag}-ip{role}")
            hand.append(netns.create_netns(names[-1]))
        import ipaddress

        with Netlink.open(hnode) as nl:
            br = nl.ensure_bridge("bthhand0", 1500)
            for n, pod in enumerate(hand):
                fd = netns.open_netns(pod)
                try:
                    veth = nl.add_veth(f"bthhv{n}", "eth0", fd, 1500, master=br.index)
                finally:
                    os.close(fd)
                nl.set_up(veth.index)
                with Netlink.open(pod) as p:
                    link = p.require_link("eth0")
                    p.set_up(link.index)
                    p.ensure_addr(link.index, ipaddress.ip_interface(f"10.250.5.{n + 2}/24"))
        berth: list[float] = []
        hand_gbps: list[float] = []
        for _ in range(runs):  # alternating, medians: the machine is shared and noisy
            berth.append(iperf(pods[0], pods[1], "10.250.4.2", seconds))
            hand_gbps.append(iperf(hand[0], hand[1], "10.250.5.2", seconds))
        return {"berth bridge (pod to pod)": statistics.median(berth),
                "hand-built veth + bridge": statistics.median(hand_gbps)}
    finally:
        for name in reversed(names):
            netns.delete_netns(name)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.cni", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--iperf-seconds", type=int, default=3)
    parser.add_argument("--iperf-runs", type=int, default=3)
    opts = parser.parse_args()
    tag = secrets.token_hex(2)
    with tempfile.TemporaryDirectory(prefix="berth-bench-cni-") as tmp:
        bin_dir = Path(tmp) / "bin"
        install(bin_dir)
        py_dir = Path(tmp) / "py"
        install(py_dir, "wrapper")
        node_name = f"berth-b-{tag}-node"
        node = netns.create_netns(node_name)
        try:
            with Netlink.open(node) as nl:
                nl.set_up(nl.require_link("lo").index)
            lat = latency(node, tag, opts.rounds, tmp, bin_dir, py_dir)
            gbps = throughput(tag, tmp, bin_dir, node, opts.iperf_seconds, opts.iperf_runs)
        finally:
            netns.delete_netns(node_name)
    ref = {c: statistics.median(lat["reference bridge + host-local"][c]) for c in ("ADD", "DEL")}
    print(f"CNI latency, exec'd from a node namespace, medians of {opts.rounds} "
          "(alternating, fresh namespaces)")
    print(f"{'chain':34} {'ADD ms':>8} {'x ref':>6} {'DEL ms':>8} {'x ref':>6}")
    for name, values in lat.items():
        add, delete = statistics.median(values["ADD"]), statistics.median(values["DEL"])
        print(f"{name:34} {add:8.1f} {add / ref['ADD']:6.2f} {delete:8.1f} "
              f"{delete / ref['DEL']:6.2f}")
    print(f"\niperf3 single stream, {opts.iperf_seconds} s, median of {opts.iperf_runs} "
          "alternating runs")
    base = gbps["hand-built veth + bridge"]
    for name, value in gbps.items():
        print(f"{name:34} {value:6.1f} Gbit/s {value / base:6.2f}x")


if __name__ == "__main__":
    main()
