"""In-process fan-out of committed changes to watchers, with bounded buffers.

The SQLite backend is the only writer of its database, so it knows every
change the moment it commits and hands it to `Fanout.publish`. Each watch
holds a `Subscription`: a bounded buffer of raw `Change`s of one resource
(decoding and selector filtering happen on the watcher's side, so a writer
pays O(watchers) appends and nothing more). A watcher that falls more than
``maxlen`` changes behind is cut off with `WatchOverflow` instead of making
writers wait or memory grow: the client lists again, as with Kubernetes.

`Fanout.revision` is the last revision published; a new watch subscribes
first and then reads history up to that revision, so the hand-over from
history to live changes neither loses nor repeats a change.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from berth.store.base import WatchEvent
from berth.store.errors import WatchOverflow
from berth.store.filtering import Change, Filter, plan_event


class Subscription:
    """The live changes of one resource for one watch."""

    def __init__(self, resource: str, maxlen: int) -> None:
        self.resource = resource
        self.maxlen = maxlen
        self._buffer: deque[Change] = deque()
        self._error: Exception | None = None
        self._wake = asyncio.Event()

    def push(self, change: Change) -> None:
        if self._error is not None:
            return
        if len(self._buffer) >= self.maxlen:
            self._buffer.clear()
            self._error = WatchOverflow(
                f"watch of {self.resource} terminated: the watcher fell more than "
                f"{self.maxlen} changes behind (last revision {change.rv}); list again")
        else:
            self._buffer.append(change)
        self._wake.set()

    def fail(self, error: Exception) -> None:
        """End the watch with ``error`` (the store is closing)."""
        if self._error is None:
            self._error = error
        self._wake.set()

    async def next_batch(self) -> list[Change]:
        """Every buffered change, waiting for at least one; raises the watch's error."""
        while not self._buffer and self._error is None:
            self._wake.clear()
            await self._wake.wait()
        if self._buffer:
            batch = list(self._buffer)
            self._buffer.clear()
            return batch
        assert self._error is not None
        raise self._error

    async def events_after(self, seen: int, flt: Filter) -> AsyncIterator[WatchEvent]:
        """The live part of a watch: changes newer than revision ``seen``, as ``flt`` sees them."""
        while True:
            for change in await self.next_batch():
                if change.rv <= seen:
                    continue
                seen = change.rv
                event = plan_event(change, flt)
                if event is not None:
                    yield event


class Fanout:
    """Subscriptions by resource, and the last revision published to them."""

    def __init__(self, revision: int) -> None:
        self.revision = revision
        self._subs: dict[str, set[Subscription]] = {}

    def subscribe(self, resource: str, maxlen: int) -> Subscription:
        sub = Subscription(resource, maxlen)
        self._subs.setdefault(resource, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.resource)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.resource]

    def publish(self, resource: str, change: Change) -> None:
        for sub in self._subs.get(resource, ()):
            sub.push(change)
        self.revision = max(self.revision, change.rv)

    def advance(self, revision: int) -> None:
        self.revision = max(self.revision, revision)

    def fail_all(self, error: Exception) -> None:
        for subs in self._subs.values():
            for sub in subs:
                sub.fail(error)
