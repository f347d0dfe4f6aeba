"""Real etcd members on 127.0.0.1 for tests: start, wait until healthy, stop.

`EtcdCluster` plans its members (`plan_members`: names, free loopback ports,
data directories, command lines) and then runs ``etcd`` for each, in its own
session, with output in ``<member dir>/etcd.log``. It waits for every
member's ``/health`` to report a leader, can stop and restart a single member
(to test failover), and on `stop` terminates only the PIDs it started
(SIGTERM, then SIGKILL after a grace period). An ``atexit`` hook stops any
cluster a crashed test left running. Nothing listens beyond loopback.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from berth.host.ports import free_port

HOST = "127.0.0.1"


class EtcdError(RuntimeError):
    """etcd could not be started or did not become healthy; names the member and log."""


@dataclass
class EtcdMember:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def client_url(self) -> str:
        return f"http://{HOST}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{HOST}:{self.peer_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None




def plan_members(base_dir: Path, size: int) -> list[EtcdMember]:
    return [EtcdMember(f"m{i}", free_port(), free_port(), base_dir / f"m{i}.etcd")
            for i in range(size)]


def member_command(binary: str, member: EtcdMember, members: list[EtcdMember],
                   token: str, state: str) -> list[str]:
    cluster = ",".join(f"{m.name}={m.peer_url}" for m in members)
    return [
        binary, "--name", member.name, "--data-dir", str(member.data_dir),
        "--listen-client-urls", member.client_url,
        "--advertise-client-urls", member.client_url,
        "--listen-peer-urls", member.peer_url,
        "--initial-advertise-peer-urls", member.peer_url,
        "--initial-cluster", cluster, "--initial-cluster-state", state,
        "--initial-cluster-token", token,
        "--heartbeat-interval", "50", "--election-timeout", "500",
        "--logger", "zap", "--log-level", "warn",
    ]


def member_healthy(member: EtcdMember, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{member.client_url}/health", timeout=timeout) as resp:
            return bool(json.loads(resp.read()).get("health") == "true")
    except (OSError, ValueError, urllib.error.URLError):
        return False


_LIVE: set[EtcdCluster] = set()


class EtcdCluster:
    """``size`` etcd members under ``base_dir``; use as a context manager or start/stop."""

    def __init__(self, base_dir: Path, size: int = 1, binary: str = "etcd") -> None:
        found = shutil.which(binary)
        if found is None:
            raise EtcdError(f"{binary}: not found on PATH (apt-get install etcd-server)")
        self.binary = found
        self.base_dir = base_dir
        self.members = plan_members(base_dir, size)
        self.token = f"berth-test-{uuid.uuid4().hex[:8]}"

    @property
    def endpoints(self) -> list[tuple[str, int]]:
        return [(HOST, m.client_port) for m in self.members]

    @property
    def url(self) -> str:
        """The datastore URL for `berth.store.open_store`."""
        return "etcd://" + ",".join(f"{h}:{p}" for h, p in self.endpoints)

    def _spawn(self, member: EtcdMember, state: str) -> None:
        member.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(member.log_path, "ab") as log:
            member.process = subprocess.Popen(
                member_command(self.binary, member, self.members, self.token, state),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)

    def start(self, timeout: float = 30.0) -> None:
        _LIVE.add(self)
        for member in self.members:
            self._spawn(member, "new")
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 30.0, members: list[EtcdMember] | None = None) -> None:
        deadline = time.monotonic() + timeout
        for member in members or [m for m in self.members if m.process is not None]:
            while not member_healthy(member):
                if not member.running:
                    raise EtcdError(f"etcd member {member.name} exited; see {member.log_path}")
                if time.monotonic() > deadline:
                    raise EtcdError(f"etcd member {member.name} not healthy after {timeout}s; "
                                    f"see {member.log_path}")
                time.sleep(0.05)

    def stop_member(self, index: int, kill: bool = True) -> None:
        """Stop one member (SIGKILL by default, like a crash)."""
        self._terminate(self.members[index], kill=kill)

    def restart_member(self, index: int, timeout: float = 30.0) -> None:
        member = self.members[index]
        self._terminate(member, kill=False)
        self._spawn(member, "existing")
        self.wait_healthy(timeout, [member])

    @staticmethod
    def _terminate(member: EtcdMember, kill: bool = False, grace: float = 5.0) -> None:
        proc, member.process = member.process, None
        if proc is None or proc.poll() is not None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        for member in self.members:
            self._terminate(member)
        _LIVE.discard(self)

    def __enter__(self) -> EtcdCluster:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


@atexit.register
def _stop_leftovers() -> None:
    for cluster in list(_LIVE):
        with contextlib.suppress(Exception):
            cluster.stop()
