"""List+watch caches and the level-triggered reconcile loop every controller runs on.

An `Informer` keeps an in-memory copy of one resource as the API server has it:
it lists, then watches from the list's resourceVersion, applies each event to
its cache and pokes the loops that read it. A watch that ends is resumed from
the last resourceVersion seen; a 410 Gone or a lost connection starts over with
a fresh list (after a short back-off). Controllers write through the API and
`remember`/`forget` the result at once, so the next pass does not act twice on
a change whose watch event is still on its way; an event older than what the
cache holds is ignored.

A `Loop` runs one controller's `reconcile()` (a whole pass over the caches,
comparing desired with actual state) whenever a cache it reads changed, after a
short debounce that coalesces bursts, at least every `resync` seconds, and again
after a back-off when a pass failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from berth.api.errors import APIError, Gone
from berth.api.resources import Resource
from berth.client import Client, ClientError

Obj = dict[str, Any]
Key = tuple[str, str]
log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0


def key_of(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _rv(obj: Obj) -> int:
    text = (obj.get("metadata") or {}).get("resourceVersion")
    return int(text) if isinstance(text, str) and text.isdigit() else 0


class Informer:
    """The cached state of one resource, kept in step by list+watch."""

    def __init__(self, client: Client, resource: Resource) -> None:
        self.client = client
        self.resource = resource
        self.cache: dict[Key, Obj] = {}
        self.synced = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []
        self._object_listeners: list[Callable[[Obj | None], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every change (and after every fresh list)."""
        self._listeners.append(listener)

    def subscribe_objects(self, listener: Callable[[Obj | None], None]) -> None:
        """Call `listener(obj)` with each changed object; `listener(None)` after a fresh list."""
        self._object_listeners.append(listener)

    def items(self) -> list[Obj]:
        return list(self.cache.values())

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.cache.get((namespace, name))

    def remember(self, obj: Obj) -> None:
        """Record what a write of ours returned (the watch event may still be coming)."""
        self._apply("MODIFIED", obj)

    def forget(self, namespace: str, name: str) -> None:
        self.cache.pop((namespace, name), None)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    def _apply(self, kind: str, obj: Obj) -> None:
        key = key_of(obj)
        if kind == "DELETED":
            self.cache.pop(key, None)
            return
        current = self.cache.get(key)
        if current is not None and _rv(current) > _rv(obj):
            return
        self.cache[key] = obj

    async def run(self) -> None:
        """List and watch forever (cancel to stop)."""
        while True:
            try:
                listing = await self.client.list(self.resource)
                self.cache = {key_of(o): o for o in listing.get("items") or []}
                version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
                self.synced.set()
                for listener in self._object_listeners:
                    listener(None)
                self._notify()
                await self._watch(version)
            except Gone:
                log.info("%s: watch expired, listing again", self.resource.key)
            except (APIError, ClientError, ValueError) as exc:
                log.warning("%s: list/watch failed: %s", self.resource.key, exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _watch(self, version: str) -> None:
        while True:
            async for event in self.client.watch(self.resource, resource_version=version):
                kind, obj = event.get("type"), event.get("object") or {}
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if rv:
                    version = str(rv)
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    self._apply(str(kind), obj)
                    for listener in self._object_listeners:
                        listener(obj)
                    self._notify()


class Loop:
    """Runs `reconcile` when poked (debounced), every `resync` seconds, and after failures."""

    def __init__(self, name: str, reconcile: Callable[[], Awaitable[None]],
                 informers: list[Informer], *, resync: float = 30.0,
                 debounce: float = 0.02) -> None:
        self.name = name
        self._reconcile = reconcile
        self._informers = informers
        self._resync = resync
        self._debounce = debounce
        self._dirty = asyncio.Event()
        self.passes = 0
        for informer in informers:
            informer.subscribe(self.poke)

    def poke(self) -> None:
        self._dirty.set()

    async def run(self) -> None:
        for informer in self._informers:
            await informer.synced.wait()
        self._dirty.set()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self._resync)
            await asyncio.sleep(self._debounce)
            self._dirty.clear()
            try:
                await self._reconcile()
            except (APIError, ClientError) as exc:
                log.warning("%s: %s; retrying", self.name, exc)
                await asyncio.sleep(RETRY_SECONDS)
                self._dirty.set()
            except Exception:
                log.exception("%s: reconcile failed; retrying", self.name)
                await asyncio.sleep(RETRY_SECONDS)
                self._dirty.set()
            self.passes += 1
