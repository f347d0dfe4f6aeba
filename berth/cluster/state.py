"""The record of a one-machine cluster: what ``berth up`` made, so ``berth down`` can undo it.

``ClusterState`` lists the namespaces, the host link, the directories and
the processes (PID plus the kernel's start time, so a recycled PID is never
signalled) of one cluster.  ``berth up`` saves it after every step, so even a
half-made cluster can be removed.  It lives in ``$BERTH_HOME/cluster.json``;
``load_state`` gives None when no cluster is up and a ``StateError`` naming
the file when it cannot be read.  ``process_alive`` and ``start_time`` read
/proc for the PID checks.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from berth.cluster.errors import StateError

STATE_FILE = "cluster.json"


@dataclass
class Process:
    role: str  # "server", "node", "netagent"
    pid: int
    started: int  # /proc/PID/stat field 22: start time in clock ticks
    log: str
    node: str = ""
    argv: list[str] = field(default_factory=list)  # how to start it again


@dataclass
class NodeRecord:
    name: str
    netns: str
    ip: str
    subnet: str
    root_dir: str
    run_dir: str
    underlay_device: str = "bthu0"


@dataclass
class ClusterState:
    home: str
    cluster: str
    backend: str
    pod_cidr: str
    service_cidr: str
    underlay: str
    fabric_netns: str
    host_link: str
    server_url: str = ""
    fabric_server_url: str = ""
    kubeconfig: str = ""
    server_dir: str = ""
    nodes: list[NodeRecord] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # files and directories to remove
    phase: str = "creating"
    kind: str = "up"  # "up" (one machine), "init" or "join" (this machine is a node)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ClusterState:
        doc = dict(doc)
        doc["nodes"] = [NodeRecord(**n) for n in doc.get("nodes") or []]
        doc["processes"] = [Process(**p) for p in doc.get("processes") or []]
        return cls(**doc)


def state_path(home: Path) -> Path:
    return home / STATE_FILE


def load_state(home: Path) -> ClusterState | None:
    path = state_path(home)
    try:
        doc = json.loads(path.read_text())
        return ClusterState.from_json(doc)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise StateError(f"{path}: cannot read the cluster state ({exc}); remove what it "
                         "lists by hand or delete the file") from exc


def save_state(state: ClusterState) -> None:
    path = state_path(Path(state.home))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(state.to_json())
    tmp.replace(path)


def start_time(pid: int) -> int:
    """The process's start time (clock ticks since boot), 0 if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_alive(proc: Process) -> bool:
    """Whether ``proc`` still runs (same PID and start time, not a zombie)."""
    try:
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0] != "Z" and int(fields[19]) == proc.started


def remove_state(home: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(state_path(home))
