"""bench/api: 1,000 pod creates over HTTP with a watcher receiving every event.

For each datastore (SQLite, then a real etcd on loopback) in one run: a real
`berth server` on a free loopback port, a watcher opened first, then N pod
creates from C concurrent HTTP clients. Reports creates per second, the watch
delay (event received minus the create's response received, 0 when the event
came first) p50/p99, and the server's RSS afterwards.

    .venv/bin/python -m bench.api [--pods 1000] [--concurrency 16] [--datastores sqlite,etcd]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from contextlib import ExitStack
from typing import Any

import aiohttp

from bench.common import Endpoint, berth_server, percentile, rss_kib


def pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"bench-{i:05d}", "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]},
    }


async def run_one(ep: Endpoint, pods: int, concurrency: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {ep.token}"}
    url = f"{ep.url}/api/v1/namespaces/default/pods"
    connector = aiohttp.TCPConnector(ssl=ep.ssl, limit=concurrency + 2)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        async with http.get(url) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        created: dict[str, float] = {}
        seen: dict[str, float] = {}
        done = asyncio.Event()

        async def watch() -> None:
            params = {"watch": "true", "resourceVersion": rv}
            timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
            async with http.get(url, params=params, timeout=timeout) as r:
                async for line in r.content:
                    ev = json.loads(line)
                    if ev["type"] == "ADDED":
                        seen[ev["object"]["metadata"]["name"]] = time.perf_counter()
                        if len(seen) >= pods:
                            done.set()
                            return

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.2)
        queue = list(range(pods))

        async def worker() -> None:
            while queue:
                i = queue.pop()
                async with http.post(url, json=pod(i)) as r:
                    if r.status != 201:
                        raise RuntimeError(f"create failed: {r.status} {await r.text()}")
                    await r.read()
                created[f"bench-{i:05d}"] = time.perf_counter()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        await asyncio.wait_for(done.wait(), 60)
        watcher.cancel()
        delays = [max(0.0, seen[n] - created[n]) * 1000 for n in created]
        return {
            "creates_per_s": pods / elapsed,
            "watch_p50_ms": percentile(delays, 50),
            "watch_p99_ms": percentile(delays, 99),
            "rss_mib": rss_kib(ep.pid) / 1024,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--datastores", default="sqlite,etcd")
    args = ap.parse_args()
    rows = []
    for ds in args.datastores.split(","):
        with ExitStack() as stack:
            url = "sqlite"
            if ds == "etcd":
                import tempfile
                from pathlib import Path

                from berth.testing.etcd import EtcdCluster

                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="berth-bench-etcd-"))
                cluster = stack.enter_context(EtcdCluster(Path(tmp), size=1))
                url = cluster.url
            ep = stack.enter_context(berth_server(url))
            res = asyncio.run(run_one(ep, args.pods, args.concurrency))
            rows.append((ds, res))
    print(f"{'datastore':10} {'creates/s':>10} {'watch p50 ms':>13} {'watch p99 ms':>13} {'RSS MiB':>8}")
    for ds, r in rows:
        print(f"{ds:10} {r['creates_per_s']:10.0f} {r['watch_p50_ms']:13.1f} "
              f"{r['watch_p99_ms']:13.1f} {r['rss_mib']:8.1f}")


if __name__ == "__main__":
    main()
