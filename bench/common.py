"""Helpers shared by the benchmarks: start a real berth server, talk to it, summarise.

Benchmarks start real processes (berth server, etcd) on loopback only and stop
exactly the PIDs they started.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from berth.host.ports import free_port


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class Endpoint:
    url: str
    token: str
    ssl: ssl.SSLContext
    pid: int


def endpoint_from_kubeconfig(path: Path, pid: int) -> Endpoint:
    cfg = yaml.safe_load(path.read_text())
    cluster = cfg["clusters"][0]["cluster"]
    user = cfg["users"][0]["user"]
    ctx = ssl.create_default_context(
        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
    )
    return Endpoint(cluster["server"], user["token"], ctx, pid)


@contextmanager
def berth_server(datastore: str = "sqlite") -> Iterator[Endpoint]:
    """A real `berth server` on a free loopback port, in a throwaway data dir."""
    with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
        port = free_port()
        kubeconfig = Path(tmp) / "kubeconfig"
        berth = Path(sys.executable).parent / "berth"
        proc = subprocess.Popen(
            [str(berth), "server", "--data-dir", f"{tmp}/data",
             "--listen", f"127.0.0.1:{port}", "--datastore", datastore,
             "--kubeconfig", str(kubeconfig)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, "BERTH_HOME": tmp},
        )
        try:
            deadline = time.monotonic() + 30
            while not kubeconfig.exists() or not _listening(port):
                if proc.poll() is not None:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"berth server exited: {err}")
                if time.monotonic() > deadline:
                    raise RuntimeError("berth server did not start in 30 s")
                time.sleep(0.05)
            yield endpoint_from_kubeconfig(kubeconfig, proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
