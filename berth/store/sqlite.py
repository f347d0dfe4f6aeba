"""The embedded datastore: SQLite in WAL mode, owned by the API server process.

`SQLiteStore` implements `Store` around a `sqlite_db.Database` that lives in
one dedicated thread (a single-worker executor), so the event loop never
blocks on disk and every statement runs in order. Writes are group-committed:
callers queue `WriteOp`s, a writer task sends everything queued so far to the
thread as one transaction, then publishes the changes to the `Fanout` in
revision order and answers the callers. Watches subscribe to the fan-out,
catch up from the ``events`` table, and then follow live changes. A lock
file next to the database keeps a second server from opening it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from berth.api.errors import APIError, ServiceUnavailable
from berth.store.base import FieldMatcher, LabelMatcher, ListResult, Obj, WatchEvent
from berth.store.codec import identity, loads, object_rv, parse_rv
from berth.store.compaction import AutoCompactor, CompactionPolicy
from berth.store.errors import StoreConfigError
from berth.store.fanout import Fanout
from berth.store.filtering import Change, Filter, plan_event
from berth.store.listing import Row, paginate
from berth.store.sqlite_db import Database, WriteOp, WriteResult

T = TypeVar("T")

#: Writes sent to the database in one transaction at most.
MAX_BATCH = 512
#: History rows read per round trip while a watch catches up.
HISTORY_BATCH = 1000
#: Default bound of a watcher's buffer of unread changes.
WATCH_BUFFER = 10_000


def acquire_lock(path: Path) -> int:
    """Hold ``<db>.lock`` exclusively: one process owns the database and its counter."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreConfigError(
            f"datastore: {path} is in use by another berth server (lock {lock_path})") from None
    return fd


class SQLiteStore:
    """`Store` on one SQLite file; create with `SQLiteStore.open`."""

    def __init__(self, db: Database, executor: ThreadPoolExecutor, watch_buffer: int,
                 compaction: CompactionPolicy | None = None) -> None:
        self._db = db
        self._executor = executor
        self._watch_buffer = watch_buffer
        self._fanout = Fanout(db.revision)
        self._pending: list[tuple[WriteOp, asyncio.Future[WriteResult]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._lock_fd: int | None = None
        self._compactor: AutoCompactor | None = None
        if compaction is not None:
            self._compactor = AutoCompactor(self.current_revision, self.compact, compaction)
            self._compactor.start()

    @classmethod
    async def open(cls, path: Path, *, watch_buffer: int = WATCH_BUFFER,
                   compaction: CompactionPolicy | None = None) -> SQLiteStore:
        """Open (or create) the database file; directories are created as needed."""
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = acquire_lock(path)
        executor = ThreadPoolExecutor(1, thread_name_prefix="berth-sqlite")
        loop = asyncio.get_running_loop()
        try:
            db = await loop.run_in_executor(executor, Database, path)
        except Exception:
            executor.shutdown(wait=False)
            os.close(lock)
            raise
        store = cls(db, executor, watch_buffer, compaction)
        store._lock_fd = lock
        return store

    @property
    def path(self) -> Path:
        return self._db.path

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise ServiceUnavailable("the datastore is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # --- writes ---------------------------------------------------------------

    async def _write(self, op: WriteOp) -> Obj:
        if self._closed:
            raise ServiceUnavailable("the datastore is closed")
        future: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending())
        result = await future
        if isinstance(result, APIError):
            raise result
        return loads(result[0])

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            ops = [op for op, _ in batch]
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._db.apply_batch, ops)
            except Exception as exc:  # the database itself failed: every caller hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for op, result in zip(ops, results, strict=True):
                if not isinstance(result, APIError):
                    self._fanout.publish(op.resource, result[1])
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def create(self, resource: str, obj: Obj) -> Obj:
        namespace, name = identity(obj)
        return await self._write(WriteOp("create", resource, namespace, name, obj))

    async def update(self, resource: str, obj: Obj) -> Obj:
        namespace, name = identity(obj)
        want = object_rv(obj)
        return await self._write(WriteOp("update", resource, namespace, name, obj, want))

    async def delete(self, resource: str, namespace: str, name: str,
                     resource_version: str | None = None) -> Obj:
        want = parse_rv(resource_version)
        return await self._write(WriteOp("delete", resource, namespace, name, None, want))

    # --- reads ----------------------------------------------------------------

    async def get(self, resource: str, namespace: str, name: str) -> Obj:
        return loads(await self._call(self._db.get, resource, namespace, name))

    async def list(self, resource: str, namespace: str | None = None, *,
                   label_selector: LabelMatcher | None = None,
                   field_selector: FieldMatcher | None = None,
                   limit: int = 0, continue_token: str | None = None) -> ListResult:
        async def fetch(after: tuple[str, str] | None, at_rv: int | None,
                        n: int) -> tuple[list[Row], int]:
            return await self._call(self._db.list_page, resource, namespace, after, at_rv, n)

        flt = Filter(namespace, label_selector, field_selector)
        return await paginate(fetch, flt, limit, continue_token)

    async def current_revision(self) -> int:
        return self._fanout.revision

    async def compact(self, revision: int) -> None:
        await self._call(self._db.compact, revision)

    # --- watch ----------------------------------------------------------------

    async def watch(self, resource: str, namespace: str | None = None, *,
                    resource_version: str | None = None,
                    label_selector: LabelMatcher | None = None,
                    field_selector: FieldMatcher | None = None) -> AsyncIterator[WatchEvent]:
        """Every change after ``resource_version`` (None/"0": from now), in order.

        Raises Gone when that revision is compacted, WatchOverflow when the
        consumer falls too far behind.
        """
        flt = Filter(namespace, label_selector, field_selector)
        start = parse_rv(resource_version)
        sub = self._fanout.subscribe(resource, self._watch_buffer)
        try:
            registered = self._fanout.revision  # later changes arrive through ``sub``
            seen = registered
            if start:
                async for change in self._history(resource, start, registered):
                    event = plan_event(change, flt)
                    if event is not None:
                        yield event
                seen = max(start, registered)
            async for event in sub.events_after(seen, flt):
                yield event
        finally:
            self._fanout.unsubscribe(sub)

    async def _history(self, resource: str, after: int, upto: int) -> AsyncIterator[Change]:
        while True:
            changes = await self._call(self._db.history, resource, after, upto, HISTORY_BATCH)
            for change in changes:
                yield change
            if len(changes) < HISTORY_BATCH:
                return
            after = changes[-1].rv

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True  # refuse new work; what is queued still gets written
        if self._compactor is not None:
            await self._compactor.stop()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        self._fanout.fail_all(ServiceUnavailable("the datastore is closing"))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._db.close)
        self._executor.shutdown(wait=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None
