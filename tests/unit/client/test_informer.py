"""The informer against a scripted client: list, watch, resume, relist, resync, back-off.

``ScriptedClient`` answers each ``list`` with the next scripted answer (or
waits, when there is none, so a test can look at the informer between two
lists) and each ``watch`` with the next scripted stream: events, then an
exception to raise, ``HANG`` to stay open, or nothing (the server ended the
stream).  Back-off delays are tiny and recorded, so no test waits long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from berth.api.errors import Gone, NotFound
from berth.api.resources import by_key
from berth.client import ConnectionFailed
from berth.client.informer import LISTED, Informer, key_of, version_of
from berth.client.retry import Backoff, retry_forever

Obj = dict[str, Any]
PODS = by_key("pods")
assert PODS is not None
HANG = object()


def pod(name: str, rv: int, namespace: str = "default") -> Obj:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": str(rv)}}


def listing(rv: int, *pods: Obj) -> Obj:
    return {"metadata": {"resourceVersion": str(rv)}, "items": list(pods)}


def ev(kind: str, obj: Obj) -> Obj:
    return {"type": kind, "object": obj}


class ScriptedClient:
    def __init__(self, lists: list[Obj | Exception] | None = None,
                 watches: list[list[Any]] | None = None) -> None:
        self.lists = list(lists or [])
        self.watches = list(watches or [])
        self.list_calls: list[dict[str, Any]] = []
        self.watch_calls: list[dict[str, Any]] = []
        self.open_streams = 0

    async def list(self, resource: Any, namespace: str | None = None, **opts: Any) -> Obj:
        self.list_calls.append({"namespace": namespace, **opts})
        if not self.lists:
            await asyncio.Event().wait()
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def watch(self, resource: Any, namespace: str | None = None,
                    **opts: Any) -> AsyncIterator[Obj]:
        self.watch_calls.append({"namespace": namespace, **opts})
        script = self.watches.pop(0) if self.watches else [HANG]
        self.open_streams += 1
        try:
            for step in script:
                if step is HANG:
                    await asyncio.Event().wait()
                elif isinstance(step, Exception):
                    raise step
                else:
                    assert isinstance(step, dict)
                    yield step
        finally:
            self.open_streams -= 1


class RecordingBackoff(Backoff):
    def __init__(self) -> None:
        super().__init__(initial=0.001, cap=0.004)
        self.delays: list[float] = []

    def next(self) -> float:
        delay = super().next()
        self.delays.append(delay)
        return delay


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.002)


@contextlib.asynccontextmanager
async def running(informer: Informer) -> AsyncIterator[asyncio.Task[None]]:
    task: asyncio.Task[None] = asyncio.create_task(informer.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def informer_of(client: ScriptedClient, **kw: Any) -> tuple[Informer, RecordingBackoff]:
    backoff = RecordingBackoff()
    return Informer(client, PODS, backoff=backoff, **kw), backoff  # type: ignore[arg-type]


async def test_lists_then_watches_from_the_lists_version_with_the_selectors() -> None:
    client = ScriptedClient(
        lists=[listing(5, pod("a", 4), pod("b", 3))],
        watches=[[ev("ADDED", pod("c", 6)), ev("MODIFIED", pod("a", 7)),
                  ev("DELETED", pod("b", 8)), HANG]])
    informer, _ = informer_of(client, namespace="default", label_selector="app=web",
                              field_selector="spec.nodeName=n1", watch_seconds=600)
    pokes: list[None] = []
    objects: list[Obj | None] = []
    events: list[tuple[str, str | None]] = []
    informer.subscribe(lambda: pokes.append(None))
    informer.subscribe_objects(objects.append)

    async def handler(kind: str, obj: Obj | None) -> None:
        events.append((kind, None if obj is None else obj["metadata"]["name"]))

    informer.subscribe_events(handler)
    async with running(informer):
        await until(lambda: len(events) == 4)
        assert informer.synced.is_set()
        assert client.list_calls == [{"namespace": "default", "label_selector": "app=web",
                                      "field_selector": "spec.nodeName=n1"}]
        assert client.watch_calls == [{"namespace": "default", "resource_version": "5",
                                       "label_selector": "app=web",
                                       "field_selector": "spec.nodeName=n1",
                                       "timeout_seconds": 600}]
        assert events == [(LISTED, None), ("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b")]
        assert objects[0] is None
        assert [(o or {})["metadata"]["name"] for o in objects[1:]] == ["c", "a", "b"]
        assert len(pokes) == 4
        assert sorted(key_of(o) for o in informer.items()) == [("default", "a"),
                                                                ("default", "c")]
        assert version_of(informer.get("default", "a") or {}) == 7
        assert informer.resource_version == "8"


async def test_a_410_lists_again_at_once_and_replaces_the_cache() -> None:
    client = ScriptedClient(
        lists=[listing(5, pod("a", 4)), listing(20, pod("b", 19))],
        watches=[[ev("ADDED", pod("c", 6)), Gone("too old resource version")], [HANG]])
    informer, backoff = informer_of(client)
    async with running(informer):
        await until(lambda: len(client.watch_calls) == 2)
        assert client.watch_calls[1]["resource_version"] == "20"
        assert [key_of(o) for o in informer.items()] == [("default", "b")]
        assert informer.lists == 2
        assert backoff.delays == []  # the first 410 after progress costs no wait


async def test_410_again_and_again_backs_off() -> None:
    gone = Gone("too old resource version")
    client = ScriptedClient(lists=[listing(5), listing(6), listing(7), listing(8)],
                            watches=[[gone], [gone], [gone], [HANG]])
    informer, backoff = informer_of(client)
    async with running(informer):
        await until(lambda: len(client.watch_calls) == 4)
        assert backoff.delays == [0.001, 0.002]  # the first at once, then waiting longer


async def test_a_stream_that_ends_is_resumed_from_the_last_version_seen() -> None:
    client = ScriptedClient(
        lists=[listing(5, pod("a", 4))],
        watches=[[ev("MODIFIED", pod("a", 6)), {"type": "BOOKMARK", "object": pod("", 9)}],
                 [ev("ADDED", pod("b", 10)), HANG]])
    informer, backoff = informer_of(client)
    async with running(informer):
        await until(lambda: informer.get("default", "b") is not None)
        assert [c["resource_version"] for c in client.watch_calls] == ["5", "9"]
        assert len(client.list_calls) == 1 and informer.lists == 1
        assert backoff.delays == []
        assert client.open_streams == 1


async def test_a_stream_closed_at_once_is_reopened_after_a_growing_pause() -> None:
    client = ScriptedClient(lists=[listing(5)], watches=[[], [], [], [HANG]])
    informer, backoff = informer_of(client)
    async with running(informer):
        await until(lambda: len(client.watch_calls) == 4)
        assert backoff.delays == [0.001, 0.002, 0.004]
        assert [c["resource_version"] for c in client.watch_calls] == ["5"] * 4


async def test_stale_events_and_our_own_writes() -> None:
    client = ScriptedClient(
        lists=[listing(5, pod("a", 4), pod("b", 4))],
        watches=[[HANG]])
    informer, _ = informer_of(client)
    objects: list[Obj | None] = []
    informer.subscribe_objects(objects.append)
    async with running(informer):
        await until(informer.synced.is_set)
        informer.remember(pod("a", 10))  # what our update returned
        informer.forget("default", "b")  # what we deleted
        assert version_of(informer.get("default", "a") or {}) == 10
        assert informer.get("default", "b") is None
        await informer._deliver(ev("MODIFIED", pod("a", 8)))  # older than our write
        await informer._deliver(ev("DELETED", pod("a", 9)))
        assert version_of(informer.get("default", "a") or {}) == 10
        assert objects == [None]  # nothing changed: nobody is told
        await informer._deliver(ev("MODIFIED", pod("a", 11)))
        assert version_of(informer.get("default", "a") or {}) == 11
        await informer._deliver(ev("DELETED", pod("a", 12)))
        assert informer.get("default", "a") is None
        assert len(objects) == 3
        assert informer.resource_version == "12"


async def test_resync_lists_afresh_and_closes_the_stream() -> None:
    client = ScriptedClient(lists=[listing(5, pod("a", 4)), listing(9, pod("b", 8)),
                                   listing(12)])
    informer, backoff = informer_of(client, resync=0.05)
    pokes: list[None] = []
    informer.subscribe(lambda: pokes.append(None))
    async with running(informer):
        await until(lambda: informer.lists == 3)
        assert len(pokes) == 3
        assert [c["resource_version"] for c in client.watch_calls] == ["5", "9", "12"]
        assert client.open_streams == 1  # the earlier streams were closed
        assert backoff.delays == []


async def test_failures_back_off_exponentially_up_to_the_cap_and_reset_on_progress(
        caplog: pytest.LogCaptureFixture) -> None:
    down = ConnectionFailed("https://127.0.0.1:1", "connection refused")
    client = ScriptedClient(
        lists=[down, down, down, down, listing(5), listing(7)],
        watches=[[ev("ADDED", pod("a", 6)), down], [HANG]])
    informer, backoff = informer_of(client)
    with caplog.at_level(logging.WARNING, "berth.client.informer"):
        async with running(informer):
            await until(lambda: len(client.watch_calls) == 2)
            # four failed lists, then a lost watch after progress: back to the first delay
            assert backoff.delays == [0.001, 0.002, 0.004, 0.004, 0.001]
            assert client.watch_calls[1]["resource_version"] == "7"  # listed again
            assert informer.lists == 2
    assert "pods: list failed: cannot reach" in caplog.text
    assert "pods: watch failed: cannot reach" in caplog.text


async def test_cancelling_stops_at_once_and_closes_the_stream() -> None:
    client = ScriptedClient(lists=[listing(5)], watches=[[HANG]])
    informer, _ = informer_of(client)
    task = asyncio.create_task(informer.run())
    await until(lambda: client.open_streams == 1)
    task.cancel()
    async with asyncio.timeout(1):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert client.open_streams == 0

    waiting = ScriptedClient(lists=[NotFound("no")])  # cancelled while backing off
    informer = Informer(waiting, PODS, backoff=Backoff(initial=30))  # type: ignore[arg-type]
    task = asyncio.create_task(informer.run())
    await until(lambda: informer.backoff.failures == 1)
    task.cancel()
    async with asyncio.timeout(1):
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_subscribers_error_ends_run() -> None:
    client = ScriptedClient(lists=[listing(5)], watches=[[ev("ADDED", pod("a", 6)), HANG]])
    informer, _ = informer_of(client)

    async def broken(kind: str, obj: Obj | None) -> None:
        if kind == "ADDED":
            raise RuntimeError("boom")

    informer.subscribe_events(broken)
    async with asyncio.timeout(5):
        with pytest.raises(RuntimeError, match="boom"):
            await informer.run()
    assert client.open_streams == 0


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(initial=1.0, cap=5.0)
    assert [backoff.next() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next() == 1.0
    many = Backoff(initial=0.5, cap=3.0, factor=3.0)
    assert [many.next() for _ in range(100)][-1] == 3.0


async def test_retry_forever_logs_and_restarts_with_back_off(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    runs: list[str] = []
    backoff = RecordingBackoff()

    async def flaky() -> None:
        runs.append("run")
        if len(runs) == 1:
            raise ConnectionFailed("https://127.0.0.1:1", "refused")
        if len(runs) == 2:
            raise RuntimeError("bug")
        if len(runs) == 3:
            return
        if len(runs) == 4:
            now[0] += 10  # ran for a long time before failing: start over
            raise NotFound("gone")
        await asyncio.Event().wait()

    log = logging.getLogger("berth.test")
    with caplog.at_level(logging.WARNING, "berth.test"):
        task = asyncio.create_task(retry_forever("flaky", flaky, backoff=backoff, logger=log,
                                                 clock=lambda: now[0]))
        await until(lambda: len(runs) == 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert backoff.delays == [0.001, 0.002, 0.004, 0.001]
    records = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert records[0] == ("WARNING", "flaky failed: cannot reach the berth API server at "
                          "https://127.0.0.1:1: refused; retrying in 0.0 s")
    assert records[1][0] == "ERROR" and caplog.records[1].exc_info is not None
    assert records[2] == ("WARNING", "flaky returned; retrying in 0.0 s")
    assert records[3][1].startswith("flaky failed: gone")
