"""The one list+watch cache of berth: controllers, node agent, network agent, proxy and DNS.

An ``Informer`` keeps an in-memory copy of one resource (optionally one
namespace, or the objects matching a label or field selector, e.g.
``spec.nodeName=<node>``) as the API server has it.  ``run`` lists, then
watches from the list's resourceVersion, applies each event to its cache and
tells its subscribers:

- ``subscribe(listener)``: ``listener()`` after every change and every fresh
  list ("something changed": poke a reconcile loop);
- ``subscribe_objects(listener)``: ``listener(obj)`` with each changed object,
  ``listener(None)`` after a fresh list (everything may have changed);
- ``subscribe_events(handler)``: ``await handler(type, obj)`` for each
  ``ADDED``/``MODIFIED``/``DELETED`` event and ``await handler(LISTED, None)``
  after a fresh list (``items()`` holds it); the informer waits for the
  handler, so events reach it one at a time and in order.

What the informer does when things go wrong:

- a watch stream that ends (the server's timeout) is resumed from the last
  resourceVersion seen; one that ends at once without an event counts as a
  failure, so a server closing every stream is not hammered;
- 410 Gone (the version was compacted) starts over with a fresh list, at once
  the first time, after the back-off if it keeps happening;
- a failed list or a lost watch connection is logged and followed by a fresh
  list after a capped exponential back-off (``berth.client.retry.Backoff``),
  reset by the first event or a watch that stayed open;
- with ``resync`` set, the informer also lists afresh every ``resync``
  seconds, for callers that repair state from a full view.

An exception raised by a subscriber ends ``run`` (callers that want it kept
alive run it under ``retry_forever``, which then lists afresh).

Writers keep their cache ahead of the watch: ``remember(obj)`` records what a
write of theirs returned and ``forget`` what they deleted, so the next pass does
not act twice on a change whose event is still on its way.  An event older
than the cached object (by resourceVersion) is ignored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, Protocol

from berth.api.errors import APIError, Gone
from berth.api.resources import Resource
from berth.client.errors import ClientError
from berth.client.retry import Backoff

Obj = dict[str, Any]
Key = tuple[str, str]
Listener = Callable[[], None]
ObjectListener = Callable[[Obj | None], None]
EventHandler = Callable[[str, Obj | None], Awaitable[None]]
LISTED = "LISTED"
CHANGES = ("ADDED", "MODIFIED", "DELETED")
FAILURES = (APIError, ClientError, ValueError)
STEADY_SECONDS = 1.0  # a watch open this long without failing counts as progress
log = logging.getLogger(__name__)


class ListWatchClient(Protocol):
    """What an informer needs of ``berth.client.Client`` (tests pass a fake)."""

    async def list(self, resource: Resource, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   limit: int = 0, continue_token: str | None = None) -> Obj: ...

    def watch(self, resource: Resource, namespace: str | None = None, *,
              resource_version: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None,
              timeout_seconds: int | None = None) -> AsyncIterator[Obj]: ...


def key_of(obj: Obj) -> Key:
    """``(namespace, name)``; namespace ``""`` for cluster-scoped objects."""
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def version_of(obj: Obj) -> int:
    """The object's resourceVersion as a number (0 when absent or not a number)."""
    text = (obj.get("metadata") or {}).get("resourceVersion")
    return int(text) if isinstance(text, str) and text.isdigit() else 0


class Informer:
    """The cached state of one resource, kept in step by list+watch (see the module doc)."""

    def __init__(self, client: ListWatchClient, resource: Resource, *,
                 namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None, resync: float | None = None,
                 watch_seconds: int | None = None, backoff: Backoff | None = None) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync = resync
        self.watch_seconds = watch_seconds
        self.backoff = backoff if backoff is not None else Backoff()
        self.cache: dict[Key, Obj] = {}
        self.synced = asyncio.Event()  # set after the first list
        self.resource_version = ""  # the last version listed or watched
        self.lists = 0  # how many lists have filled the cache
        self._listeners: list[Listener] = []
        self._object_listeners: list[ObjectListener] = []
        self._handlers: list[EventHandler] = []
        self._gone_again = False  # a 410 since the last progress: back off before the next
        self._name = resource.key + "".join(
            f" ({s})" for s in (namespace, label_selector, field_selector) if s)

    # -- reading and subscribing -------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener()`` after every change (and after every fresh list)."""
        self._listeners.append(listener)

    def subscribe_objects(self, listener: ObjectListener) -> None:
        """Call ``listener(obj)`` with each changed object; ``listener(None)`` after a fresh list."""
        self._object_listeners.append(listener)

    def subscribe_events(self, handler: EventHandler) -> None:
        """Await ``handler(type, obj)`` per event, ``handler(LISTED, None)`` after a fresh list."""
        self._handlers.append(handler)

    def items(self) -> list[Obj]:
        return list(self.cache.values())

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.cache.get((namespace, name))

    # -- a writer's own changes --------------------------------------------------------------
    def remember(self, obj: Obj) -> None:
        """Record what a write of ours returned (the watch event may still be coming)."""
        self._apply("MODIFIED", obj)

    def forget(self, namespace: str, name: str) -> None:
        """Drop an object we deleted."""
        self.cache.pop((namespace, name), None)

    def _apply(self, kind: str, obj: Obj) -> bool:
        """Apply one change to the cache; False when the cache already holds something newer."""
        key = key_of(obj)
        current = self.cache.get(key)
        if current is not None and version_of(current) > version_of(obj):
            return False
        if kind == "DELETED":
            self.cache.pop(key, None)
        else:
            self.cache[key] = obj
        return True

    # -- list and watch ----------------------------------------------------------------------
    async def run(self) -> NoReturn:
        """List and watch until cancelled (see the module doc for what happens on failures)."""
        while True:
            try:
                listing = await self._list()
            except FAILURES as exc:
                await self._pause(f"list failed: {exc}")
                continue
            await self._install(listing)
            failure = await self._follow()
            if isinstance(failure, Gone):
                log.info("%s: watch expired, listing again", self._name)
                if self._gone_again:
                    await asyncio.sleep(self.backoff.next())
                self._gone_again = True
            elif failure is not None:
                await self._pause(f"watch failed: {failure}")

    async def _list(self) -> Obj:
        return await self.client.list(self.resource, self.namespace,
                                      label_selector=self.label_selector,
                                      field_selector=self.field_selector)

    async def _install(self, listing: Obj) -> None:
        self.cache = {key_of(o): o for o in listing.get("items") or []}
        self.resource_version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
        self.lists += 1
        self.synced.set()
        for listener in self._object_listeners:
            listener(None)
        for handler in self._handlers:
            await handler(LISTED, None)
        self._notify()

    async def _follow(self) -> Exception | None:
        """Watch from ``resource_version``: None once ``resync`` is due, else why it stopped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.resync if self.resync else None
        while True:
            opened, progressed = loop.time(), False
            stream = self.client.watch(
                self.resource, self.namespace, resource_version=self.resource_version,
                label_selector=self.label_selector, field_selector=self.field_selector,
                timeout_seconds=self.watch_seconds)
            try:
                while True:
                    try:
                        event = await self._next(stream, deadline)
                    except StopAsyncIteration:
                        break
                    except FAILURES as exc:
                        return exc
                    if event is None:
                        return None
                    if not progressed:
                        progressed = True
                        self._progress()
                    await self._deliver(event)
            finally:
                close = getattr(stream, "aclose", None)
                if close is not None:
                    await close()
            if progressed or loop.time() - opened >= STEADY_SECONDS:
                self._progress()
            else:  # the stream closed at once: do not reconnect in a tight loop
                await asyncio.sleep(self.backoff.next())

    def _progress(self) -> None:
        self.backoff.reset()
        self._gone_again = False

    @staticmethod
    async def _next(stream: AsyncIterator[Obj], deadline: float | None) -> Obj | None:
        """The next event, or None once ``deadline`` (loop time) has passed."""
        if deadline is None:
            return await anext(stream)
        timer = asyncio.timeout_at(deadline)
        try:
            async with timer:
                return await anext(stream)
        except TimeoutError:
            if timer.expired():
                return None
            raise

    async def _deliver(self, event: Obj) -> None:
        kind, obj = str(event.get("type")), event.get("object") or {}
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = str(version)
        if kind not in CHANGES or not self._apply(kind, obj):
            return  # a BOOKMARK, or older than what we hold
        for listener in self._object_listeners:
            listener(obj)
        for handler in self._handlers:
            await handler(kind, obj)
        self._notify()

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    async def _pause(self, problem: str) -> None:
        delay = self.backoff.next()
        log.warning("%s: %s; retrying in %.1f s", self._name, problem, delay)
        await asyncio.sleep(delay)
