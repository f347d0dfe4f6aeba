"""Watches: order, history, concurrency, compaction and selector semantics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from berth.api.errors import Gone
from berth.api.selectors import LabelSelector
from berth.store import Store, WatchEvent


def obj(name: str, namespace: str = "default", **labels: str) -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}}


def rv(o: dict) -> int:
    return int(o["metadata"]["resourceVersion"])


async def take(events: AsyncIterator[WatchEvent], n: int, timeout: float = 10) -> list[
        WatchEvent]:
    got = []
    async with asyncio.timeout(timeout):
        while len(got) < n:
            got.append(await anext(events))
    return got


async def nothing_more(events: AsyncIterator[WatchEvent], wait: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(anext(events), wait)
    except TimeoutError:
        return True
    return False


def summary(events: list[WatchEvent]) -> list[tuple[str, str, int]]:
    return [(e.type, e.object["metadata"]["name"], int(e.resource_version)) for e in events]


async def test_watch_from_now_sees_added_modified_deleted(store: Store, resource: str) -> None:
    await store.create(resource, obj("before"))
    events = store.watch(resource)
    try:
        pending = asyncio.ensure_future(take(events, 3))
        await asyncio.sleep(0.2)  # the watch is established before the writes
        a = await store.create(resource, obj("a"))
        b = await store.update(resource, obj("a", x="1"))
        c = await store.delete(resource, "default", "a")
        got = await pending
        assert summary(got) == [("ADDED", "a", rv(a)), ("MODIFIED", "a", rv(b)),
                                ("DELETED", "a", rv(c))]
        assert got[1].object["metadata"]["labels"] == {"x": "1"}
        assert rv(got[2].object) == rv(c)
    finally:
        await events.aclose()


async def test_watch_from_an_old_revision_replays_history_then_follows(
        store: Store, resource: str) -> None:
    first = await store.create(resource, obj("a"))
    later = [await store.create(resource, obj(f"b{i}")) for i in range(3)]
    await store.create(resource + "other", obj("unrelated"))
    events = store.watch(resource, resource_version=first["metadata"]["resourceVersion"])
    try:
        got = await take(events, 3)
        assert summary(got) == [("ADDED", o["metadata"]["name"], rv(o)) for o in later]
        live = await store.update(resource, obj("a", y="1"))
        assert summary(await take(events, 1)) == [("MODIFIED", "a", rv(live))]
        assert await nothing_more(events)
    finally:
        await events.aclose()


async def test_concurrent_writers_no_lost_duplicate_or_reordered_events(
        store: Store, resource: str) -> None:
    start = rv(await store.create(resource, obj("seed")))  # "0" would mean "from now"
    events = store.watch(resource, resource_version=str(start))

    async def writer(w: int) -> list[int]:
        rvs = []
        for i in range(25):
            created = await store.create(resource, obj(f"w{w}-{i}"))
            rvs.append(rv(created))
            if i % 5 == 0:
                rvs.append(rv(await store.update(resource, obj(f"w{w}-{i}", n="1"))))
        return rvs

    try:
        # half the writes happen before the watch is first read (history), half after
        first_half = await asyncio.gather(*(writer(w) for w in range(2)))
        reader = asyncio.ensure_future(take(events, 4 * 30, timeout=30))
        second_half = await asyncio.gather(*(writer(w) for w in range(2, 4)))
        got = await reader
        written = sorted(r for rvs in first_half + second_half for r in rvs)
        seen = [int(e.resource_version) for e in got]
        assert seen == written  # every write once, in revision order
        assert await nothing_more(events)
    finally:
        await events.aclose()


async def test_watch_from_a_compacted_revision_is_gone(store: Store, resource: str) -> None:
    first = await store.create(resource, obj("a"))
    for i in range(3):
        await store.update(resource, obj("a", i=str(i)))
    await store.compact(await store.current_revision())
    events = store.watch(resource, resource_version=first["metadata"]["resourceVersion"])
    with pytest.raises(Gone, match=f"too old resource version: {rv(first)}") as info:
        await take(events, 1)
    assert (info.value.code, info.value.reason) == (410, "Expired")
    # watching from the compaction point works
    now = await store.current_revision()
    fresh = store.watch(resource, resource_version=str(now))
    try:
        upd = await store.update(resource, obj("a", i="last"))
        assert summary(await take(fresh, 1)) == [("MODIFIED", "a", rv(upd))]
    finally:
        await fresh.aclose()


async def test_label_selector_watch_follows_kubernetes_semantics(store: Store,
                                                                 resource: str) -> None:
    start = rv(await store.create(resource, obj("seed")))
    events = store.watch(resource, resource_version=str(start),
                         label_selector=LabelSelector.parse("app=web"))
    try:
        await store.create(resource, obj("x", app="db"))  # never matches: unseen
        start_matching = await store.update(resource, obj("x", app="web"))
        still = await store.update(resource, obj("x", app="web", v="2"))
        stop_matching = await store.update(resource, obj("x", app="db"))
        await store.delete(resource, "default", "x")  # not matching when deleted: unseen
        await store.create(resource, obj("y", app="web"))
        gone = await store.delete(resource, "default", "y")
        got = await take(events, 5)
        assert [(e.type, e.object["metadata"]["name"]) for e in got] == [
            ("ADDED", "x"), ("MODIFIED", "x"), ("DELETED", "x"), ("ADDED", "y"),
            ("DELETED", "y")]
        assert [int(e.resource_version) for e in got][:3] == [
            rv(start_matching), rv(still), rv(stop_matching)]
        # the DELETED for "stopped matching" carries the last matching state
        assert got[2].object["metadata"]["labels"] == {"app": "web", "v": "2"}
        assert rv(got[2].object) == rv(stop_matching)
        assert int(got[4].resource_version) == rv(gone)
        assert await nothing_more(events)
    finally:
        await events.aclose()


async def test_namespace_watch_ignores_other_namespaces(store: Store, resource: str) -> None:
    start = rv(await store.create(resource, obj("seed")))
    events = store.watch(resource, "ns1", resource_version=str(start))
    try:
        await store.create(resource, obj("a", "ns2"))
        mine = await store.create(resource, obj("a", "ns1"))
        await store.create(resource, obj("b", "ns10"))
        got = await take(events, 1)
        assert summary(got) == [("ADDED", "a", rv(mine))]
        assert got[0].object["metadata"]["namespace"] == "ns1"
        assert await nothing_more(events)
    finally:
        await events.aclose()


async def test_each_watcher_gets_its_own_copy_of_an_event(store: Store, resource: str) -> None:
    start = str(rv(await store.create(resource, obj("seed"))))
    one, two = store.watch(resource, resource_version=start), store.watch(
        resource, resource_version=start)
    try:
        await store.create(resource, obj("a"))
        (e1,), (e2,) = await take(one, 1), await take(two, 1)
        e1.object["metadata"]["name"] = "mutated"
        assert e2.object["metadata"]["name"] == "a"
    finally:
        await one.aclose()
        await two.aclose()


async def test_a_watcher_that_does_not_read_does_not_stop_writers(store: Store,
                                                                  resource: str) -> None:
    seed = await store.create(resource, obj("seed"))
    events = store.watch(resource, resource_version=seed["metadata"]["resourceVersion"])
    try:
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.1)
        written = []
        async with asyncio.timeout(20):
            for i in range(300):
                written.append(rv(await store.create(resource, obj(f"p{i}"))))
        got = [await first, *await take(events, 299)]
        assert [int(e.resource_version) for e in got] == written
    finally:
        await events.aclose()


async def test_list_then_watch_from_its_version_misses_nothing_even_when_empty(
        store: Store, resource: str) -> None:
    """The server's pattern: list (maybe empty), then watch from the list's version."""
    listed = await store.list(resource)
    assert listed.items == [] and int(listed.resource_version) >= 1
    events = store.watch(resource, resource_version=listed.resource_version)
    try:
        created = await store.create(resource, obj("first"))  # before the first read
        assert summary(await take(events, 1)) == [("ADDED", "first", rv(created))]
    finally:
        await events.aclose()
