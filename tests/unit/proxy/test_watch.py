"""ServiceWatch: one snapshot once both lists arrived, then the latest after changes.

A fake client answers the two lists at once and keeps each watch open on a
queue the test feeds, so the test decides when each change arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from berth.api.resources import Resource
from berth.proxy import ServiceWatch
from berth.proxy.watch import Snapshot

Obj = dict[str, Any]


def obj(name: str, rv: int) -> Obj:
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": str(rv)}}


class FeedClient:
    def __init__(self) -> None:
        self.listing: dict[str, asyncio.Event] = {"services": asyncio.Event(),
                                                   "endpointslices": asyncio.Event()}
        self.feeds: dict[str, asyncio.Queue[Obj]] = {"services": asyncio.Queue(),
                                                      "endpointslices": asyncio.Queue()}

    async def list(self, resource: Resource, namespace: str | None = None, **_: Any) -> Obj:
        await self.listing[resource.plural].wait()
        first = obj("kubernetes" if resource.plural == "services" else "kubernetes-1", 1)
        return {"metadata": {"resourceVersion": "1"}, "items": [first]}

    async def watch(self, resource: Resource, namespace: str | None = None,
                    **_: Any) -> AsyncIterator[Obj]:
        while True:
            yield await self.feeds[resource.plural].get()


def names(snapshot: Snapshot) -> tuple[list[str], list[str]]:
    services, slices = snapshot
    return ([s["metadata"]["name"] for s in services], [s["metadata"]["name"] for s in slices])


async def test_snapshots_wait_for_both_lists_and_coalesce_bursts() -> None:
    client = FeedClient()
    watch = ServiceWatch(client)  # type: ignore[arg-type]
    task = asyncio.create_task(watch.run())
    snapshots = watch.snapshots()
    try:
        async with asyncio.timeout(5):
            client.listing["services"].set()
            first = asyncio.ensure_future(anext(snapshots))
            await asyncio.sleep(0.05)
            assert not first.done()  # the EndpointSlices are not listed yet
            client.listing["endpointslices"].set()
            assert names(await first) == (["kubernetes"], ["kubernetes-1"])
            for k in range(2, 5):  # a burst while the consumer is busy
                client.feeds["services"].put_nowait({"type": "ADDED", "object": obj(f"s{k}", k)})
            while len(watch.services.items()) < 4:
                await asyncio.sleep(0.01)
            assert names(await anext(snapshots)) == (["kubernetes", "s2", "s3", "s4"],
                                                     ["kubernetes-1"])
            client.feeds["endpointslices"].put_nowait(
                {"type": "DELETED", "object": obj("kubernetes-1", 9)})
            assert names(await anext(snapshots)) == (["kubernetes", "s2", "s3", "s4"], [])
    finally:
        await snapshots.aclose()  # type: ignore[attr-defined]
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
