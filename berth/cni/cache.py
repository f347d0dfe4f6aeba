"""The client's persistent result cache, in libcni's on-disk format.

One JSON file per attachment, ``<cache dir>/results/<network>-<containerID>-<ifname>``
(cache dir default /var/lib/cni, as libcni), of kind ``cniCacheV1``: the
network configuration (base64), CNI_ARGS, capability arguments, the netns and
the ADD result.  It lets DEL and CHECK send the right ``prevResult`` after the
node agent restarts, and lets GC find attachments the runtime no longer
knows.  Writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CACHE_DIR = "/var/lib/cni"
KIND = "cniCacheV1"


@dataclass(frozen=True)
class CachedAttachment:
    network: str
    container_id: str
    ifname: str
    netns: str = ""
    args: tuple[tuple[str, str], ...] = ()
    capability_args: dict[str, Any] = field(default_factory=dict)
    config: bytes = b""
    result: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": KIND,
            "containerId": self.container_id,
            "config": base64.b64encode(self.config).decode(),
            "ifName": self.ifname,
            "networkName": self.network,
            "netns": self.netns,
            "cniArgs": [list(pair) for pair in self.args],
            "capabilityArgs": self.capability_args,
        }
        if self.result is not None:
            out["result"] = self.result
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CachedAttachment:
        return cls(
            network=str(data["networkName"]),
            container_id=str(data["containerId"]),
            ifname=str(data["ifName"]),
            netns=str(data.get("netns") or ""),
            args=tuple((str(k), str(v)) for k, v in data.get("cniArgs") or []),
            capability_args=dict(data.get("capabilityArgs") or {}),
            config=base64.b64decode(data.get("config") or ""),
            result=data.get("result"),
        )


class ResultCache:
    def __init__(self, cache_dir: str = DEFAULT_CACHE_DIR) -> None:
        self.dir = Path(cache_dir) / "results"

    def path(self, network: str, container_id: str, ifname: str) -> Path:
        return self.dir / f"{network}-{container_id}-{ifname}"

    def save(self, entry: CachedAttachment) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.path(entry.network, entry.container_id, entry.ifname)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry.to_json()))
        os.replace(tmp, path)

    def load(self, network: str, container_id: str, ifname: str) -> CachedAttachment | None:
        return self._read(self.path(network, container_id, ifname), network)

    def remove(self, network: str, container_id: str, ifname: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(network, container_id, ifname).unlink()

    def list(self, network: str) -> list[CachedAttachment]:
        """Every cached attachment of ``network`` (files of other networks are skipped)."""
        try:
            names = sorted(os.listdir(self.dir))
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            if name.startswith(f"{network}-"):
                entry = self._read(self.dir / name, network)
                if entry is not None:
                    found.append(entry)
        return found

    @staticmethod
    def _read(path: Path, network: str) -> CachedAttachment | None:
        try:
            data = json.loads(path.read_text())
            entry = CachedAttachment.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return entry if entry.network == network else None
