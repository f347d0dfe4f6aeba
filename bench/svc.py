"""bench/svc: proxy sync time, ClusterIP vs direct request latency, cluster DNS query latency.

One run, everything in namespaces the bench creates (``berth-s<hex>-...``) and
removes, also on failure; nothing in the root namespace.

- sync: for 1,000 and 5,000 Services x 2 endpoints, a ``Proxier`` programs a
  fresh node namespace (full sync: build + render + one ``nft -f``), then ten
  times one Service gets a third endpoint (incremental syncs); ``--runs``
  rounds, medians.
- latency: a node namespace holding the 1,000-service table, a bridge, a client
  pod and a server pod; a fresh TCP connection + one request/answer per
  sample, alternating straight to the pod IP and through a ClusterIP; medians
  and the ratio ClusterIP / direct.
- dns: ``ClusterDNS`` serving 1,000 Services on 127.0.0.1 (its own thread and
  loop), N UDP queries from dnspython, p50/p99.

    .venv/bin/python -m bench.svc [--runs 3] [--requests 2000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.query

from bench.common import median, percentile
from berth.dns import ClusterDNS
from berth.host.netns import entered
from berth.proxy import Proxier

Obj = dict[str, Any]
SERVER = r"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(1024); print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.recv(64); c.sendall(b"ok"); c.close()
"""


def services(n: int) -> tuple[list[Obj], list[Obj]]:
    svcs, slices = [], []
    for i in range(n):
        name = f"s{i}"
        svcs.append({"metadata": {"name": name, "namespace": "bench"},
                     "spec": {"clusterIP": f"10.{96 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}",
                              "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
        slices.append(endpoint_slice(name, [f"10.245.{(2 * i + k) // 250 % 250}.{(2 * i + k) % 250 + 1}"
                                            for k in range(2)]))
    return svcs, slices


def endpoint_slice(svc: str, ips: list[str], port: int = 8080) -> Obj:
    return {"metadata": {"name": f"{svc}-x", "namespace": "bench",
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]}


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@contextlib.contextmanager
def namespaces(*names: str) -> Iterator[None]:
    try:
        for ns in names:
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        for ns in names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def bench_sync(tag: str, n: int, runs: int) -> dict[str, float]:
    fulls, ones = [], []
    for r in range(runs):
        ns = f"berth-{tag}-sync{r}"
        with namespaces(ns):
            svcs, slices = services(n)
            proxy = Proxier("bench", netns=ns)
            fulls.append(proxy.sync(svcs, slices).seconds)
            for k in range(10):  # ten single-service changes, one sync each
                i = (n // 2 + k * 97) % n
                slices[i] = endpoint_slice(f"s{i}", ["10.246.0.1", "10.246.0.2", "10.246.0.3"])
                ones.append(proxy.sync(svcs, slices).seconds)
    return {"full_s": median(fulls), "one_change_s": median(ones)}


def _request(ns: str, ip: str, port: int) -> float:
    start = time.perf_counter()
    with entered(ns), socket.create_connection((ip, port), timeout=2) as sock:
        sock.sendall(b"?")
        sock.recv(64)
    return time.perf_counter() - start


def bench_latency(tag: str, requests: int) -> dict[str, float]:
    node, client, server = (f"berth-{tag}-{x}" for x in ("node", "cli", "srv"))
    with namespaces(node, client, server):
        sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh("ip", "-n", node, "link", "add", f"bth{tag}", "type", "bridge")
        sh("ip", "-n", node, "addr", "add", "10.244.9.1/24", "dev", f"bth{tag}")
        sh("ip", "-n", node, "link", "set", f"bth{tag}", "up")
        for i, ns in enumerate((client, server)):
            sh("ip", "-n", node, "link", "add", f"bthv{i}", "type", "veth", "peer", "name",
               "eth0", "netns", ns)
            sh("ip", "-n", node, "link", "set", f"bthv{i}", "master", f"bth{tag}", "up")
            sh("ip", "-n", ns, "addr", "add", f"10.244.9.{10 + i}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "route", "add", "default", "via", "10.244.9.1")
        proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{server}", sys.executable, "-I",
                                 "-S", "-c", SERVER], stdout=subprocess.PIPE)
        try:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
            svcs, slices = services(1000)
            svcs.append({"metadata": {"name": "target", "namespace": "bench"},
                         "spec": {"clusterIP": "10.100.0.1",
                                  "ports": [{"name": "http", "port": 80}]}})
            slices.append(endpoint_slice("target", ["10.244.9.11"]))
            proxy = Proxier("bench", netns=node)
            proxy.sync(svcs, slices)
            direct, via = [], []
            for _ in range(requests):
                direct.append(_request(client, "10.244.9.11", 8080))
                via.append(_request(client, "10.100.0.1", 80))
        finally:
            proc.kill()
            proc.wait()
    d, v = median(direct), median(via)
    return {"direct_ms": d * 1e3, "cluster_ip_ms": v * 1e3, "ratio": v / d}


def bench_dns(queries: int) -> dict[str, float]:
    svcs, slices = services(1000)
    server = ClusterDNS(host="127.0.0.1", port=0)
    server.update(svcs, slices)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(5)
    times = []
    try:
        for i in range(queries):
            q = dns.message.make_query(f"s{i % 1000}.bench.svc.cluster.local", "A")
            start = time.perf_counter()
            dns.query.udp(q, "127.0.0.1", port=server.port, timeout=2)
            times.append(time.perf_counter() - start)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    return {"p50_ms": percentile(times, 50) * 1e3, "p99_ms": percentile(times, 99) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/svc needs root (network namespaces, nftables)")
    tag = f"s{secrets.token_hex(2)}"
    result = {
        "sync_1000": bench_sync(tag, 1000, args.runs),
        "sync_5000": bench_sync(tag, 5000, args.runs),
        "latency": bench_latency(tag, args.requests),
        "dns": bench_dns(args.queries),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
