"""``berth up --datastore etcd``: real etcd members on loopback, started and recorded by berth.

``plan_members`` (pure but for picking free ports) describes ``count``
members: names, client and peer ports on 127.0.0.1, data directories under
``$BERTH_HOME/etcd``; ``member_argv`` is the command line of one (Debian's
``etcd`` from etcd-server, short heartbeat and election timeouts so losing a
member costs well under a second).  ``start_etcd`` spawns every member
through ``machine.spawn`` (so each is in the ``ClusterState`` with PID and
start time, and ``berth down`` stops exactly these), waits until each one
answers ``/health`` with a leader, and returns the datastore URL the API
server gets (``etcd://127.0.0.1:P1,127.0.0.1:P2,...``).  Only the server in
the root namespace talks to etcd; nodes talk to the server.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from berth.cluster.errors import PreflightError, StartupError
from berth.cluster.state import ClusterState, process_alive
from berth.host.ports import free_port as _free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path

    @property
    def client_url(self) -> str:
        return f"http://{HOST}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{HOST}:{self.peer_port}"




def plan_members(base: Path, count: int) -> list[Member]:
    if not 1 <= count <= 7:
        raise ValueError(f"--etcd-members: {count}: choose 1 to 7 (3 survives losing one)")
    return [Member(f"etcd{i}", _free_port(), _free_port(), base / f"etcd{i}")
            for i in range(count)]


def member_argv(binary: str, member: Member, members: list[Member], token: str) -> list[str]:
    cluster = ",".join(f"{m.name}={m.peer_url}" for m in members)
    return [binary, "--name", member.name, "--data-dir", str(member.data_dir),
            "--listen-client-urls", member.client_url,
            "--advertise-client-urls", member.client_url,
            "--listen-peer-urls", member.peer_url,
            "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", cluster, "--initial-cluster-state", "new",
            "--initial-cluster-token", token,
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--logger", "zap", "--log-level", "warn"]


def healthy(member: Member) -> bool:
    try:
        with urllib.request.urlopen(f"{member.client_url}/health", timeout=1) as resp:
            return bool(json.loads(resp.read()).get("health") == "true")
    except (OSError, ValueError, urllib.error.URLError):
        return False


def datastore_url(members: list[Member]) -> str:
    return "etcd://" + ",".join(f"{HOST}:{m.client_port}" for m in members)


def start_etcd(state: ClusterState, count: int, timeout: float = 30.0) -> str:
    """Spawn ``count`` members, wait until healthy; the datastore URL for the server."""
    from berth.cluster.machine import spawn

    binary = shutil.which("etcd")
    if binary is None:
        raise PreflightError("--datastore etcd: no etcd on PATH (apt-get install etcd-server)")
    home = Path(state.home)
    members = plan_members(home / "etcd", count)
    token = f"berth-{state.cluster or 'cluster'}-{secrets.token_hex(4)}"
    procs = [spawn(state, "etcd", member_argv(binary, m, members, token),
                   home / "logs" / f"{m.name}.log") for m in members]
    deadline = time.monotonic() + timeout
    waiting = list(zip(members, procs, strict=True))
    while waiting:
        if time.monotonic() > deadline:
            raise StartupError(f"etcd member {waiting[0][0].name} not healthy after "
                               f"{timeout:.0f} s; see {waiting[0][1].log}")
        for member, proc in list(waiting):
            if not process_alive(proc):
                raise StartupError(f"etcd member {member.name} exited; see {proc.log}")
            if healthy(member):
                waiting.remove((member, proc))
        time.sleep(0.1)
    return datastore_url(members)
