"""Throughput of the hot path: 1,000 pod creates over HTTPS with a watcher attached.

The server runs in its own process (as `berth server` would), on SQLite, so client
and server do not share a GIL. Targets: >= 500 creates/s, and every watch event
delivered within 50 ms (p99) of the create being acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

COUNT = 1000
CONCURRENCY = 16
SERVER = """
import asyncio, sys
from pathlib import Path
from berth.server import ServerConfig, run_server
asyncio.run(run_server(ServerConfig(data_dir=Path(sys.argv[1]), port=0)))
"""


def _start(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(data_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kubeconfig = data_dir / "admin.kubeconfig"
    deadline = time.monotonic() + 30
    while not kubeconfig.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"server did not start: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.05)
    time.sleep(0.05)
    return proc, yaml.safe_load(kubeconfig.read_text())


async def test_creates_per_second_and_watch_latency(tmp_path: Path) -> None:
    proc, config = _start(tmp_path)
    try:
        url = config["clusters"][0]["cluster"]["server"]
        token = config["users"][0]["user"]["token"]
        ctx = ssl.create_default_context(cafile=str(tmp_path / "pki" / "ca.crt"))
        connector = aiohttp.TCPConnector(ssl=ctx, limit=CONCURRENCY + 2)
        async with aiohttp.ClientSession(url, connector=connector,
                                         headers={"Authorization": f"Bearer {token}"}) as api:
            acked: dict[str, float] = {}
            delivered: dict[str, float] = {}
            async with api.get("/api/v1/namespaces/default/pods",
                               params={"watch": "true", "resourceVersion": "1"}) as watch_resp:

                async def read_watch() -> None:
                    while len(delivered) < COUNT:
                        line = await watch_resp.content.readline()
                        if not line:
                            return
                        name = json.loads(line)["object"]["metadata"]["name"]
                        delivered[name] = time.perf_counter()

                reader = asyncio.ensure_future(read_watch())
                queue = [f"perf-{i}" for i in range(COUNT)]

                async def worker() -> None:
                    while queue:
                        name = queue.pop()
                        body = json.dumps({"apiVersion": "v1", "kind": "Pod",
                                           "metadata": {"name": name},
                                           "spec": {"containers": [{"name": "c",
                                                                    "image": "busybox"}]}})
                        async with api.post("/api/v1/namespaces/default/pods", data=body,
                                            headers={"Content-Type": "application/json"}) as r:
                            assert r.status == 201, await r.text()
                            await r.read()
                        acked[name] = time.perf_counter()

                start = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
                elapsed = time.perf_counter() - start
                await asyncio.wait_for(reader, 10)
        rate = COUNT / elapsed
        lags = sorted(max(0.0, delivered[n] - acked[n]) for n in acked)
        p99 = lags[int(len(lags) * 0.99) - 1]
        print(f"\n{COUNT} creates in {elapsed:.2f}s = {rate:.0f}/s; watch p99 {p99 * 1000:.1f} ms")
        if os.environ.get("BERTH_PERF_STRICT", "1") == "1":
            assert rate >= 500, f"{rate:.0f} creates/s"
            assert p99 <= 0.050, f"p99 {p99 * 1000:.1f} ms"
    finally:
        proc.terminate()
        proc.wait(10)
