"""WATCH streams: initial ADDED events, changes, resourceVersion, 410, bookmarks, Tables."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

PODS = "/api/v1/namespaces/default/pods"


async def _events(resp: aiohttp.ClientResponse, count: int, timeout: float = 5.0) -> \
        list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    async def read() -> None:
        while len(out) < count:
            line = await resp.content.readline()
            if not line:
                return
            out.append(json.loads(line))

    await asyncio.wait_for(read(), timeout)
    return out


async def test_watch_without_resource_version_starts_with_current_objects(
        api: aiohttp.ClientSession, make_pod: Any) -> None:
    pod = make_pod("w-existing")
    pod["metadata"]["labels"] = {"watch": "one"}
    async with api.post(PODS, json=pod) as resp:
        assert resp.status == 201
    params = {"watch": "true", "labelSelector": "watch=one"}
    async with api.get(PODS, params=params) as resp:
        assert resp.headers["Content-Type"].startswith("application/json")
        (first,) = await _events(resp, 1)
        assert first["type"] == "ADDED"
        assert first["object"]["metadata"]["name"] == "w-existing"
        new = make_pod("w-new")
        new["metadata"]["labels"] = {"watch": "one"}
        async with api.post(PODS, json=new) as created:
            assert created.status == 201
        patch = {"metadata": {"annotations": {"x": "y"}}}
        async with api.patch(f"{PODS}/w-new", data=json.dumps(patch),
                             headers={"Content-Type": "application/merge-patch+json"}):
            pass
        async with api.delete(f"{PODS}/w-new"):
            pass
        events = await _events(resp, 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "w-new"), ("MODIFIED", "w-new"), ("DELETED", "w-new")]


async def test_watch_from_resource_version_replays_later_changes(
        api: aiohttp.ClientSession, make_pod: Any) -> None:
    async with api.get(PODS) as resp:
        rv = (await resp.json())["metadata"]["resourceVersion"]
    async with api.post(PODS, json=make_pod("w-after")) as resp:
        assert resp.status == 201
    params = {"watch": "1", "resourceVersion": rv, "fieldSelector": "metadata.name=w-after"}
    async with api.get(PODS, params=params) as resp:
        (event,) = await _events(resp, 1)
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "w-after"


async def test_watch_timeout_ends_the_stream(api: aiohttp.ClientSession) -> None:
    params = {"watch": "true", "timeoutSeconds": "1", "resourceVersion": "1",
              "fieldSelector": "metadata.name=never"}
    async with api.get(PODS, params=params) as resp:
        body = await asyncio.wait_for(resp.read(), 5)
    assert body == b""


async def test_watch_from_compacted_revision_is_410_error_event(
        api: aiohttp.ClientSession, live_server: Any, make_pod: Any) -> None:
    for i in range(3):
        async with api.post(PODS, json=make_pod(f"w-compact-{i}")):
            pass
    store = live_server.running.store
    rev = asyncio.run_coroutine_threadsafe(store.current_revision(), live_server.loop).result(5)
    asyncio.run_coroutine_threadsafe(store.compact(rev), live_server.loop).result(5)
    async with api.get(PODS, params={"watch": "true", "resourceVersion": "2"}) as resp:
        (event,) = await _events(resp, 1)
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["kind"] == "Status"


async def test_initial_events_end_bookmark(api: aiohttp.ClientSession, make_pod: Any) -> None:
    async with api.post(PODS, json=make_pod("w-bookmark")):
        pass
    params = {"watch": "true", "sendInitialEvents": "true", "allowWatchBookmarks": "true",
              "resourceVersionMatch": "NotOlderThan", "fieldSelector": "metadata.name=w-bookmark"}
    async with api.get(PODS, params=params) as resp:
        added, mark = await _events(resp, 2)
    assert added["type"] == "ADDED"
    assert mark["type"] == "BOOKMARK"
    assert mark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_watch_as_table(api: aiohttp.ClientSession, make_pod: Any) -> None:
    async with api.post(PODS, json=make_pod("w-table")):
        pass
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    params = {"watch": "true", "fieldSelector": "metadata.name=w-table"}
    async with api.get(PODS, params=params, headers={"Accept": accept}) as resp:
        (event,) = await _events(resp, 1)
    assert event["object"]["kind"] == "Table"
    assert event["object"]["rows"][0]["cells"][0] == "w-table"


async def test_deprecated_watch_path_for_one_object(api: aiohttp.ClientSession,
                                                    make_pod: Any) -> None:
    for name in ("w-path-a", "w-path-b"):
        async with api.post(PODS, json=make_pod(name)):
            pass
    async with api.get("/api/v1/watch/namespaces/default/pods/w-path-b") as resp:
        (event,) = await _events(resp, 1)
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "w-path-b")
