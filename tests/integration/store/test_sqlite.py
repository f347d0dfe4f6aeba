"""What only the SQLite backend promises: file location, slow watchers, speed, restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from berth.api.errors import Gone
from berth.store import StoreConfigError, WatchOverflow, open_store
from berth.store.compaction import CompactionPolicy
from berth.store.sqlite import SQLiteStore


def obj(name: str, **labels: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox", "args": ["x"] * 20}]}}


async def test_the_database_lives_under_the_data_dir_in_wal_mode(tmp_path: Path) -> None:
    store = await open_store("sqlite", tmp_path / "data", compaction=None)
    try:
        await store.create("pods", obj("a"))
    finally:
        await store.close()
    db = tmp_path / "data" / "berth.db"
    assert db.exists()
    assert db.read_bytes()[18:20] == b"\x02\x02", "WAL mode is recorded in the header"
    explicit = await open_store(f"sqlite://{tmp_path}/elsewhere.db", tmp_path, compaction=None)
    await explicit.close()
    assert (tmp_path / "elsewhere.db").exists()


async def test_bad_datastore_urls_are_reported_naming_the_url(tmp_path: Path) -> None:
    with pytest.raises(StoreConfigError, match="'mysql://x' is neither"):
        await open_store("mysql://x", tmp_path)
    with pytest.raises(StoreConfigError, match="endpoint 'nohost' in 'etcd://nohost'"):
        await open_store("etcd://nohost", tmp_path)


async def test_a_slow_watcher_is_cut_off_without_blocking_writers(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "db", watch_buffer=10)
    try:
        seed = await store.create("pods", obj("seed"))
        slow = store.watch("pods", resource_version=seed["metadata"]["resourceVersion"])
        fast = store.watch("pods", resource_version=seed["metadata"]["resourceVersion"])
        first = asyncio.ensure_future(anext(slow))
        await store.create("pods", obj("p0"))
        assert (await first).object["metadata"]["name"] == "p0"
        assert (await anext(fast)).object["metadata"]["name"] == "p0"
        async with asyncio.timeout(5):  # writers go on although nobody reads "slow"
            for i in range(1, 30):
                await store.create("pods", obj(f"p{i}"))
                assert (await anext(fast)).object["metadata"]["name"] == f"p{i}"
        with pytest.raises(WatchOverflow, match="fell more than 10 changes behind") as info:
            await anext(slow)
        assert isinstance(info.value, Gone) and info.value.code == 410
        await fast.aclose()
    finally:
        await store.close()


async def test_revision_and_compaction_point_survive_a_restart(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "db")
    await store.create("pods", obj("a"))
    for i in range(5):
        await store.update("pods", obj("a", i=str(i)))
    await store.compact(4)
    revision = await store.current_revision()
    await store.close()
    store = await SQLiteStore.open(tmp_path / "db")
    try:
        assert await store.current_revision() == revision
        with pytest.raises(Gone, match=r"too old resource version: 2 \(4\)"):
            await anext(store.watch("pods", resource_version="2"))
        replay = store.watch("pods", resource_version="3")
        assert int((await anext(replay)).resource_version) == 4
        await replay.aclose()
    finally:
        await store.close()


async def test_auto_compaction_bounds_the_history(tmp_path: Path) -> None:
    policy = CompactionPolicy(interval=0.05, retention=3600, max_history=10)
    store = await SQLiteStore.open(tmp_path / "db", compaction=policy)
    try:
        await store.create("pods", obj("a"))
        for i in range(30):
            await store.update("pods", obj("a", i=str(i)))
        await asyncio.sleep(0.3)
        with pytest.raises(Gone):
            await anext(store.watch("pods", resource_version="5"))
        recent = store.watch("pods", resource_version="25")
        assert int((await anext(recent)).resource_version) == 26
        await recent.aclose()
    finally:
        await store.close()


async def test_concurrent_creates_all_reach_a_watcher(tmp_path: Path) -> None:
    """2,000 creates from 64 concurrent writers (batched commits): every one is seen once.

    Speed is measured by bench/api, not asserted here."""
    store = await SQLiteStore.open(tmp_path / "db")
    try:
        seed = await store.create("pods", obj("seed"))
        events = store.watch("pods", resource_version=seed["metadata"]["resourceVersion"])
        count = 2000
        received = 0

        async def consume() -> None:
            nonlocal received
            async for _ in events:
                received += 1
                if received == count:
                    return

        reader = asyncio.ensure_future(consume())
        sem = asyncio.Semaphore(64)  # 64 concurrent clients, as an API server would see

        async def one(i: int) -> None:
            async with sem:
                await store.create("pods", obj(f"p{i}", app="web"))

        await asyncio.gather(*(one(i) for i in range(count)))
        await asyncio.wait_for(reader, 60)
        assert received == count
        listed = await store.list("pods")
        assert len(listed.items) == count + 1
    finally:
        await store.close()


async def test_a_second_server_cannot_open_the_same_database(tmp_path: Path) -> None:
    first = await open_store("sqlite", tmp_path, compaction=None)
    try:
        with pytest.raises(StoreConfigError, match="in use by another berth server"):
            await open_store("sqlite", tmp_path, compaction=None)
    finally:
        await first.close()
    again = await open_store("sqlite", tmp_path, compaction=None)  # released on close
    await again.close()
