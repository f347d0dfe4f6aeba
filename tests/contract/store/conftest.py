"""The datastore contract: every test runs against the in-memory fake, SQLite and a real etcd.

``backend`` is parametrized over the three; the etcd one shares the session's
single-member etcd (``etcd_cluster`` in tests/conftest.py).
The memory backend keeps its `MemoryData` across ``open`` calls, so a test
that reopens the store sees what it wrote, as with the real backends. Tests
isolate themselves by using a resource name of their own (``resource``, also
in tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from berth.store import Store, open_store
from berth.testing.etcd import EtcdCluster
from berth.testing.fakes.store import MemoryData, MemoryStore


@dataclass
class Backend:
    name: str
    url: str
    data_dir: Path
    memory: MemoryData | None = None

    async def open(self, **options: Any) -> Store:
        if self.memory is not None:
            return MemoryStore(self.memory, watch_buffer=options.get("watch_buffer") or 10_000)
        options.setdefault("compaction", None)
        return await open_store(self.url, self.data_dir, **options)


@pytest.fixture(params=["memory", "sqlite", pytest.param("etcd", marks=pytest.mark.etcd)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "memory":
        return Backend("memory", "memory", tmp_path, MemoryData())
    if request.param == "sqlite":
        return Backend("sqlite", "sqlite", tmp_path)
    cluster: EtcdCluster = request.getfixturevalue("etcd_cluster")
    return Backend("etcd", cluster.url, tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    st = await backend.open()
    try:
        yield st
    finally:
        await st.close()
