"""An in-memory `Store`: the datastore contract without SQLite or etcd, for fast tests.

`MemoryStore` keeps the current objects and the history of changes in
dicts and a list, and builds everything a client sees from the same pure
helpers the real backends use (``filtering.plan_event`` for watch
semantics, ``listing.paginate`` for pages and continue tokens, the codec for
resourceVersions), so it passes the same contract suite
(tests/contract/store) as `SQLiteStore` and `EtcdStore`: one increasing
revision starting at 1, AlreadyExists/NotFound/Conflict, snapshot-consistent
pagination, watches from a revision, Gone after compaction, bounded watch
buffers. Its state lives in a `MemoryData`, so a test can "restart" the
datastore by opening a second store over the same data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from berth.api.errors import ServiceUnavailable, already_exists, conflict, not_found
from berth.store.base import FieldMatcher, LabelMatcher, ListResult, Obj, WatchEvent
from berth.store.codec import dumps, identity, loads, object_rv, parse_rv, restamp, with_rv
from berth.store.errors import continue_expired, precondition_failed, too_old
from berth.store.fanout import Fanout
from berth.store.filtering import Change, Filter, plan_event
from berth.store.listing import Row, paginate

Key = tuple[str, str, str]  # resource, namespace, name
WATCH_BUFFER = 10_000


@dataclass
class MemoryData:
    """Everything a `MemoryStore` keeps: survives closing one store and opening another."""

    objects: dict[Key, tuple[int, str]] = field(default_factory=dict)  # key -> (rv, text)
    events: list[tuple[str, Change]] = field(default_factory=list)  # (resource, change)
    revision: int = 1  # like etcd and SQLite: a new store is at revision 1
    compacted: int = 0


class MemoryStore:
    """`Store` in process memory; every call completes without touching the disk."""

    def __init__(self, data: MemoryData | None = None, *,
                 watch_buffer: int = WATCH_BUFFER) -> None:
        self.data = data if data is not None else MemoryData()
        self._watch_buffer = watch_buffer
        self._fanout = Fanout(self.data.revision)
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise ServiceUnavailable("the datastore is closed")

    # --- writes ---------------------------------------------------------------

    def _commit(self, resource: str, change: Change) -> Obj:
        self.data.revision = change.rv
        self.data.events.append((resource, change))
        self._fanout.publish(resource, change)
        return loads(change.data)

    async def create(self, resource: str, obj: Obj) -> Obj:
        self._check_open()
        namespace, name = identity(obj)
        key = (resource, namespace, name)
        if key in self.data.objects:
            raise already_exists(resource, name)
        rv = self.data.revision + 1
        text = dumps(with_rv(obj, rv))
        self.data.objects[key] = (rv, text)
        return self._commit(resource, Change("ADDED", rv, namespace, name, text, None))

    def _current(self, key: Key, want: int | None, deleting: bool) -> tuple[int, str]:
        current = self.data.objects.get(key)
        resource, _, name = key
        if current is None:
            raise not_found(resource, name)
        stored_rv, _ = current
        if want is not None and want != stored_rv:
            if deleting:
                raise precondition_failed(resource, name, str(want), stored_rv)
            raise conflict(resource, name)
        return current

    async def update(self, resource: str, obj: Obj) -> Obj:
        self._check_open()
        namespace, name = identity(obj)
        key = (resource, namespace, name)
        _, old = self._current(key, object_rv(obj), deleting=False)
        rv = self.data.revision + 1
        text = dumps(with_rv(obj, rv))
        self.data.objects[key] = (rv, text)
        return self._commit(resource, Change("MODIFIED", rv, namespace, name, text, old))

    async def delete(self, resource: str, namespace: str, name: str,
                     resource_version: str | None = None) -> Obj:
        self._check_open()
        key = (resource, namespace, name)
        _, old = self._current(key, parse_rv(resource_version), deleting=True)
        rv = self.data.revision + 1
        del self.data.objects[key]
        return self._commit(resource, Change("DELETED", rv, namespace, name,
                                             restamp(old, rv), old))

    # --- reads ----------------------------------------------------------------

    async def get(self, resource: str, namespace: str, name: str) -> Obj:
        self._check_open()
        current = self.data.objects.get((resource, namespace, name))
        if current is None:
            raise not_found(resource, name)
        return loads(current[1])

    def _snapshot(self, resource: str, namespace: str | None,
                  at_rv: int | None) -> list[tuple[str, str, str]]:
        """(namespace, name, text) of every object as of ``at_rv`` (None: now), sorted."""
        rows = {(ns, name): text for (res, ns, name), (_, text) in self.data.objects.items()
                if res == resource and (namespace is None or ns == namespace)}
        if at_rv is not None and at_rv < self.data.revision:
            if at_rv + 1 < self.data.compacted:
                raise continue_expired()
            seen: set[tuple[str, str]] = set()
            for res, change in self.data.events:
                if res != resource or change.rv <= at_rv:
                    continue
                if namespace is not None and change.namespace != namespace:
                    continue
                key = (change.namespace, change.name)
                if key in seen:
                    continue
                seen.add(key)  # the first change after at_rv knows the state before it
                if change.prev is None:
                    rows.pop(key, None)
                else:
                    rows[key] = str(change.prev)
        return [(ns, name, rows[(ns, name)]) for ns, name in sorted(rows)]

    async def list(self, resource: str, namespace: str | None = None, *,
                   label_selector: LabelMatcher | None = None,
                   field_selector: FieldMatcher | None = None,
                   limit: int = 0, continue_token: str | None = None) -> ListResult:
        self._check_open()

        async def fetch(after: tuple[str, str] | None, at_rv: int | None,
                        n: int) -> tuple[list[Row], int]:
            rows = [(ns, name, loads(text))
                    for ns, name, text in self._snapshot(resource, namespace, at_rv)
                    if after is None or (ns, name) > after]
            return (rows[:n] if n > 0 else rows), (
                self.data.revision if at_rv is None else at_rv)

        flt = Filter(namespace, label_selector, field_selector)
        return await paginate(fetch, flt, limit, continue_token)

    async def current_revision(self) -> int:
        self._check_open()
        return self.data.revision

    async def compact(self, revision: int) -> None:
        self._check_open()
        revision = min(revision, self.data.revision)
        if revision > self.data.compacted:
            self.data.events = [(r, c) for r, c in self.data.events if c.rv >= revision]
            self.data.compacted = revision

    # --- watch ----------------------------------------------------------------

    async def watch(self, resource: str, namespace: str | None = None, *,
                    resource_version: str | None = None,
                    label_selector: LabelMatcher | None = None,
                    field_selector: FieldMatcher | None = None) -> AsyncIterator[WatchEvent]:
        """Every change after ``resource_version`` (None/"0": from now), in order."""
        self._check_open()
        flt = Filter(namespace, label_selector, field_selector)
        start = parse_rv(resource_version)
        sub = self._fanout.subscribe(resource, self._watch_buffer)
        try:
            seen = self.data.revision
            if start:
                if start + 1 < self.data.compacted:
                    raise too_old(start, self.data.compacted)
                history = [c for r, c in self.data.events
                           if r == resource and start < c.rv <= seen]
                for change in history:
                    event = plan_event(change, flt)
                    if event is not None:
                        yield event
                seen = max(start, seen)
            async for event in sub.events_after(seen, flt):
                yield event
        finally:
            self._fanout.unsubscribe(sub)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._fanout.fail_all(ServiceUnavailable("the datastore is closing"))
