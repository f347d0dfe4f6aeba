"""berth's datastore: one `Store` protocol, an SQLite and an etcd backend.

`open_store(url, data_dir)` is the entry point the server uses:

- ``sqlite`` / ``sqlite://``: the embedded default, ``<data_dir>/berth.db``;
- ``sqlite:///path/to/file.db``: an explicit file;
- ``etcd://host:port[,host:port...]``: an etcd v3 cluster (failover among members).

It also starts automatic compaction (`compaction.CompactionPolicy`), stopped
by ``close()``. Backends are imported lazily so that using SQLite never loads
gRPC. Errors are `berth.api.errors` types; see `berth.store.errors`.
"""

from __future__ import annotations

from pathlib import Path

from berth.store.base import (
    EventType,
    FieldMatcher,
    LabelMatcher,
    ListResult,
    Obj,
    Store,
    WatchEvent,
)
from berth.store.compaction import CompactionPolicy
from berth.store.errors import StoreConfigError, StoreUnavailable, WatchOverflow

__all__ = [
    "CompactionPolicy",
    "EventType",
    "FieldMatcher",
    "LabelMatcher",
    "ListResult",
    "Obj",
    "Store",
    "StoreConfigError",
    "StoreUnavailable",
    "WatchEvent",
    "WatchOverflow",
    "open_store",
    "parse_etcd_endpoints",
]

SQLITE_FILE = "berth.db"
DEFAULT_COMPACTION = CompactionPolicy()


def parse_etcd_endpoints(url: str) -> list[tuple[str, int]]:
    """``etcd://h:p,h:p`` as [(host, port)]; StoreConfigError naming the bad part."""
    rest = url.removeprefix("etcd://")
    endpoints: list[tuple[str, int]] = []
    for part in rest.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StoreConfigError(f"datastore: endpoint {part!r} in {url!r} is not host:port")
        endpoints.append((host.strip("[]"), int(port)))
    return endpoints


async def open_store(url: str, data_dir: str | Path, *,
                     compaction: CompactionPolicy | None = DEFAULT_COMPACTION,
                     watch_buffer: int | None = None) -> Store:
    """Open the datastore named by ``url``; ``compaction=None`` disables auto-compaction."""
    if url in ("sqlite", "sqlite://") or url.startswith("sqlite:///"):
        from berth.store.sqlite import WATCH_BUFFER, SQLiteStore

        path = Path(url.removeprefix("sqlite://")) if url.startswith("sqlite:///") else (
            Path(data_dir) / SQLITE_FILE)
        return await SQLiteStore.open(path, watch_buffer=watch_buffer or WATCH_BUFFER,
                                      compaction=compaction)
    if url.startswith("etcd://"):
        from berth.store.etcd import EtcdStore

        return await EtcdStore.connect(parse_etcd_endpoints(url), compaction=compaction)
    raise StoreConfigError(
        f"datastore: {url!r} is neither 'sqlite', 'sqlite:///file' nor "
        "'etcd://host:port[,...]'")
