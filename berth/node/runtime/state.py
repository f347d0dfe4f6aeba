"""State files of the OCI runtime service: one JSON record per sandbox and container.

Everything a restarted agent needs is written here, atomically (write to a
temp file, rename; no fsync, see ``write_json_atomic``): the configs as given
(labels and annotations included), ids, pids with their kernel start times (a
reused pid is not ours), times, paths.  The container monitor writes ``exit.json`` beside a container's
record when the container ends.  ``to_jsonable``/``from_jsonable`` convert the
frozen config dataclasses of ``protocol`` to JSON and back by their type hints.

Layout under the runtime root::

    sandboxes/<id>/sandbox.json   SandboxRecord
    sandboxes/<id>/{hosts,hostname,resolv.conf,shm/,bundle/}
    containers/<id>/container.json ContainerRecord
    containers/<id>/{exit.json,init.pid,bundle/,upper/,work/,rootfs/}
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from berth.node.runtime.protocol import ContainerConfig, PodSandboxConfig

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def _convert(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner[0], data)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v) for v in data]
    if origin is dict:
        _, item = typing.get_args(hint)
        return {k: _convert(item, v) for k, v in data.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_jsonable(hint, data)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(data)
    return data


def from_jsonable(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild dataclass ``cls`` from ``to_jsonable`` output (unknown keys ignored)."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: _convert(hints[k], v) for k, v in data.items() if k in names}
    return cls(**kwargs)


@dataclass
class SandboxRecord:
    id: str
    config: PodSandboxConfig
    created_at: int
    netns_name: str = ""
    netns_path: str = ""
    cgroup_parent: str = ""
    own_cgroup_parent: bool = False
    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)
    pause_pid: int = 0
    pause_start_time: int = 0
    monitor_pid: int = 0
    ready: bool = False
    network_ready: bool = False


@dataclass
class ContainerRecord:
    id: str
    sandbox_id: str
    config: ContainerConfig
    image_id: str
    image_name: str
    created_at: int
    log_path: str
    cgroups_path: str
    stop_signal: str = ""
    pid: int = 0
    pid_start_time: int = 0
    monitor_pid: int = 0
    monitor_start_time: int = 0
    started_at: int = 0
    start_error: str = ""


def write_json_atomic(path: Path, data: Any) -> None:
    """Write then rename: a killed agent leaves the old or the new record, never half of one.

    No fsync: the records guard against the agent dying, not the machine (after a
    crash of the machine no container of these records runs anyway), and an fsync
    per record cost ~1/4 of the agent's time when 110 pods started at once.
    """
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out, separators=(",", ":"), sort_keys=True)
    os.replace(tmp, path)


class StateDir:
    """Reads and writes the records under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sandboxes = root / "sandboxes"
        self.containers = root / "containers"
        for directory in (self.sandboxes, self.containers):
            directory.mkdir(parents=True, exist_ok=True)

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.sandboxes / sandbox_id

    def container_dir(self, container_id: str) -> Path:
        return self.containers / container_id

    def sandbox_file(self, sandbox_id: str) -> Path:
        return self.sandbox_dir(sandbox_id) / "sandbox.json"

    def container_file(self, container_id: str) -> Path:
        return self.container_dir(container_id) / "container.json"

    def save_sandbox(self, record: SandboxRecord) -> None:
        write_json_atomic(self.sandbox_file(record.id), to_jsonable(record))

    def save_container(self, record: ContainerRecord) -> None:
        write_json_atomic(self.container_file(record.id), to_jsonable(record))

    def load_sandboxes(self) -> dict[str, SandboxRecord]:
        return {r.id: r for r in self._load(self.sandboxes, "sandbox.json", SandboxRecord)}

    def load_containers(self) -> dict[str, ContainerRecord]:
        return {r.id: r for r in self._load(self.containers, "container.json", ContainerRecord)}

    @staticmethod
    def _load(base: Path, name: str, cls: type[T]) -> list[T]:
        records = []
        for entry in sorted(base.iterdir()):
            path = entry / name
            try:
                records.append(from_jsonable(cls, json.loads(path.read_text())))
            except (FileNotFoundError, ValueError, TypeError, KeyError):
                continue  # a record half-written by a crash: its owner is cleaned up by id
        return records

    def read_exit(self, container_id: str) -> dict[str, Any] | None:
        """The monitor's exit record of a container, if it has ended."""
        try:
            data = json.loads((self.container_dir(container_id) / "exit.json").read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None
