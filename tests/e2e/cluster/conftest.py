"""Fixtures for the end-to-end cluster tests: a real ``berth up`` and a no-trace check.

``Cluster`` drives the ``berth`` command with its own ``BERTH_HOME``, a random
cluster name (namespaces ``berth-t<hex>-...``), its own underlay /24 and a
free port, and knows how to reach pods: ``berth exec`` for what a user would
run, and the pod's namespace (found among ``berth-<node>-*``) for a ping loop
measured from outside.  ``up_cluster`` (a context manager for module-scoped
fixtures) snapshots the root namespace first and, in ``finally``, runs
``berth down``, prints the logs when something is left, and asserts the
snapshot is back: namespaces, links, routes (v4 and v6), the nft ruleset and
mounts under /run/berth, /var/lib/berth and the cluster's home.  Other
engineers' tests run beside ours, so the comparison ignores lines that appeared
and cannot be ours (no berth name, tag, underlay or home in them).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.host import netns
from berth.host.netlink import Netlink
from berth.host.ports import free_port

BERTH = str(Path(sys.executable).with_name("berth"))
SNAPSHOT_COMMANDS = (["ip", "netns", "list"], ["ip", "-o", "link"], ["ip", "route"],
                     ["ip", "-6", "route"], ["nft", "list", "ruleset"])


def root_snapshot(home: Path) -> set[str]:
    lines: set[str] = set()
    for cmd in SNAPSHOT_COMMANDS:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
        lines |= {f"{cmd[-1]}: {line.strip()}" for line in out.splitlines() if line.strip()}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount = line.split()[4]
        if mount.startswith(("/run/berth", "/var/lib/berth", str(home))):
            lines.add(f"mount: {mount}")
    return lines


class Cluster:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.name = "t" + secrets.token_hex(3)
        self.underlay = f"198.18.{100 + secrets.randbelow(150)}.0/24"
        self.port = free_port(2)  # --port and the join service on --port + 1

    def berth(self, *args: str, check: bool = True, timeout: float = 240
              ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BERTH_HOME": str(self.home)}
        done = subprocess.run([BERTH, *args], env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)}: {done.stdout}{done.stderr}")
        return done

    def node(self, k: int) -> str:
        return f"{self.name}-node{k}"

    def state(self) -> dict[str, Any]:
        return dict(json.loads((self.home / "cluster.json").read_text()))

    def node_pid(self, node: str) -> int:
        return next(int(p["pid"]) for p in self.state()["processes"]
                    if p["role"] == "node" and p["node"] == node)

    def mine(self, line: str) -> bool:
        """Whether a snapshot line could be this cluster's: its tag (in its namespaces and
        host link), underlay or home, a pod route in the root namespace, or an nft table
        named berth.  (Other tests make and remove their own ``berth-...``/``bth...``.)"""
        prefix = self.underlay.rsplit(".", 1)[0] + "."
        if any(k in line for k in (self.name, prefix, str(self.home))):
            return True
        kind = line.split(":", 1)[0]
        return (kind == "route" and "10.2" in line) or (kind == "ruleset" and "table" in line and "berth" in line)

    # -- pods --------------------------------------------------------------------------------
    def apply(self, *objs: dict[str, Any]) -> None:
        path = self.home / f"apply-{secrets.token_hex(3)}.json"
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))
        self.berth("apply", "-f", str(path))

    def pods(self) -> dict[str, dict[str, Any]]:
        listed = json.loads(self.berth("get", "pods", "-o", "json").stdout)
        return {p["metadata"]["name"]: p for p in listed["items"]}

    def wait_running(self, names: set[str], timeout: float = 90) -> dict[str, dict[str, str]]:
        deadline = time.monotonic() + timeout
        seen: dict[str, dict[str, str]] = {}
        while time.monotonic() < deadline:
            seen = {name: {"ip": p["status"].get("podIP", ""),
                           "node": p["spec"].get("nodeName", ""),
                           "phase": p["status"].get("phase", "")}
                    for name, p in self.pods().items() if name in names}
            if len(seen) == len(names) and all(
                    p["phase"] == "Running" and p["ip"] for p in seen.values()):
                return seen
            time.sleep(0.5)
        raise AssertionError(f"pods not Running after {timeout} s: {seen}")

    def pod_netns(self, node: str, ip: str) -> str:
        for name in netns.list_netns(f"berth-{node}-"):
            with Netlink.open(name) as nl:
                if any(str(a.ip) == ip for link in nl.links() for a in nl.addrs(link.index)):
                    return name
        raise AssertionError(f"no pod namespace of {node} holds {ip}")

    def owned_routes(self, node: str) -> set[str]:
        out = subprocess.run(["ip", "-n", f"berth-{node}", "route", "show", "proto", "66"],
                             capture_output=True, text=True, check=True).stdout
        return {line.split()[0] for line in out.splitlines() if line.strip()}

    def fdb(self, node: str) -> str:
        return subprocess.run(["bridge", "-n", f"berth-{node}", "fdb", "show", "dev",
                               "bth.vxlan"], capture_output=True, text=True,
                              check=False).stdout

    def logs(self) -> str:
        out = []
        for log in sorted((self.home / "logs").glob("*.log")):
            out.append(f"---- {log.name} ----\n{log.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)


def busybox_pod(name: str, command: list[str], node: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "c", "image": "busybox",
                                            "command": command}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def web_pod(name: str, node: str = "") -> dict[str, Any]:
    """busybox httpd in the foreground; -vv logs each client's address to the pod log."""
    return busybox_pod(name, ["httpd", "-f", "-vv", "-p", "8080", "-h", "/etc"], node)


@contextlib.contextmanager
def up_cluster(home: Path, *up_args: str) -> Iterator[Cluster]:
    """``berth up`` with ``up_args``; ``berth down`` and the no-trace check in finally."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    cluster = Cluster(home)
    before = root_snapshot(home)
    try:
        cluster.berth("up", "--name", cluster.name, "--underlay", cluster.underlay,
                      "--port", str(cluster.port), "--timeout", "120", *up_args)
        yield cluster
    finally:
        if (cluster.home / "cluster.json").exists():
            done = cluster.berth("down", check=False)
            if done.returncode != 0:
                print(done.stdout, done.stderr, cluster.logs())
        left = {line for line in root_snapshot(home) - before if cluster.mine(line)}
        gone = {line for line in before - root_snapshot(home) if cluster.mine(line)}
        assert not left and not gone, f"berth down left {sorted(left)}, removed {sorted(gone)}"
        assert not (cluster.home / "cluster.json").exists()
