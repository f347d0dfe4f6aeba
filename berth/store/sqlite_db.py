"""The SQLite side of the SQLite backend: synchronous, called from one thread only.

`Database` owns the connection (WAL mode) and three tables:

- ``objects``: the current state, one row per (resource, namespace, name),
  the JSON text already carrying its resourceVersion;
- ``events``: the history, one row per revision with the object's text after
  and before the change: watches catch up from it, and a paginated list reads
  the state "as of" its first page's revision from it (an object changed
  since then is read from the ``prev`` of its first later event);
- ``meta``: the revision counter and the compaction point, so both survive a
  restart.

`apply_batch` runs many writes in one transaction (one fsync for the lot):
each write is checked and applied on its own, its API error (AlreadyExists,
Conflict, ...) returned in its slot without failing its neighbours.
`sqlite.SQLiteStore` calls all of this through a single-thread executor.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from berth.api.errors import APIError, already_exists, conflict, not_found
from berth.store.base import Obj
from berth.store.codec import dumps, loads, restamp, with_rv
from berth.store.errors import continue_expired, precondition_failed, too_old
from berth.store.filtering import Change
from berth.store.listing import Row

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (resource, namespace, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, resource TEXT NOT NULL, namespace TEXT NOT NULL,
    name TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, prev TEXT);
CREATE INDEX IF NOT EXISTS events_by_key ON events (resource, namespace, name, rv);
CREATE INDEX IF NOT EXISTS events_by_resource ON events (resource, rv);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class WriteOp:
    """One write: ``want_rv`` is the resourceVersion precondition (None: none)."""

    kind: Literal["create", "update", "delete"]
    resource: str
    namespace: str
    name: str
    obj: Obj | None = None
    want_rv: int | None = None


WriteResult = tuple[str, Change] | APIError


def _decoded(rows: list[tuple[str, str, str]]) -> list[Row]:
    return [(ns, name, loads(data)) for ns, name, data in rows]


class Database:
    """The connection and the revision counter; not thread-safe by design."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)
        # Like etcd, a new store is at revision 1: "0" keeps meaning "any/now" to clients.
        self.revision = self._meta("revision") or 1
        self.compacted = self._meta("compacted")

    def _meta(self, key: str) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _set_meta(self, key: str, value: int) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self.conn.close()

    # --- writes ---------------------------------------------------------------

    def apply_batch(self, ops: list[WriteOp]) -> list[WriteResult]:
        start = self.revision
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            results = [self._apply_one(op) for op in ops]
            if self.revision != start:
                self._set_meta("revision", self.revision)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            self.revision = start
            raise
        return results

    def _apply_one(self, op: WriteOp) -> WriteResult:
        try:
            if op.kind == "create":
                return self._create(op)
            return self._modify(op)
        except APIError as err:
            return err

    def _current(self, op: WriteOp) -> tuple[int, str] | None:
        row = self.conn.execute(
            "SELECT rv, data FROM objects WHERE resource=? AND namespace=? AND name=?",
            (op.resource, op.namespace, op.name)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def _record(self, op: WriteOp, change: Change) -> None:
        self.conn.execute(
            "INSERT INTO events (rv, resource, namespace, name, type, data, prev) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (change.rv, op.resource, op.namespace, op.name, change.type, change.data,
             change.prev))
        self.revision = change.rv

    def _create(self, op: WriteOp) -> WriteResult:
        assert op.obj is not None
        if self._current(op) is not None:
            raise already_exists(op.resource, op.name)
        rv = self.revision + 1
        text = dumps(with_rv(op.obj, rv))
        self.conn.execute(
            "INSERT INTO objects (resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?)",
            (op.resource, op.namespace, op.name, rv, text))
        change = Change("ADDED", rv, op.namespace, op.name, text, None)
        self._record(op, change)
        return text, change

    def _modify(self, op: WriteOp) -> WriteResult:
        current = self._current(op)
        if current is None:
            raise not_found(op.resource, op.name)
        stored_rv, old = current
        if op.want_rv is not None and op.want_rv != stored_rv:
            if op.kind == "delete":
                raise precondition_failed(op.resource, op.name, str(op.want_rv), stored_rv)
            raise conflict(op.resource, op.name)
        rv = self.revision + 1
        key = (op.resource, op.namespace, op.name)
        if op.kind == "delete":
            text = restamp(old, rv)
            self.conn.execute(
                "DELETE FROM objects WHERE resource=? AND namespace=? AND name=?", key)
            change = Change("DELETED", rv, op.namespace, op.name, text, old)
        else:
            assert op.obj is not None
            text = dumps(with_rv(op.obj, rv))
            self.conn.execute(
                "UPDATE objects SET rv=?, data=? WHERE resource=? AND namespace=? AND name=?",
                (rv, text, *key))
            change = Change("MODIFIED", rv, op.namespace, op.name, text, old)
        self._record(op, change)
        return text, change

    def compact(self, revision: int) -> int:
        """Forget history before ``revision`` (clamped to now); the compaction point."""
        revision = min(revision, self.revision)
        if revision > self.compacted:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute("DELETE FROM events WHERE rv < ?", (revision,))
                self._set_meta("compacted", revision)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.compacted = revision
        return self.compacted

    # --- reads ----------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> str:
        row = self.conn.execute(
            "SELECT data FROM objects WHERE resource=? AND namespace=? AND name=?",
            (resource, namespace, name)).fetchone()
        if row is None:
            raise not_found(resource, name)
        return str(row[0])

    def list_page(self, resource: str, namespace: str | None, after: tuple[str, str] | None,
                  at_rv: int | None, limit: int) -> tuple[list[Row], int]:
        """Up to ``limit`` rows after key ``after``, as of revision ``at_rv`` (None: now)."""
        where, args = "resource=?", [resource]
        if namespace is not None:
            where += " AND namespace=?"
            args.append(namespace)
        if after is not None:
            where += " AND (namespace, name) > (?, ?)"
            args.extend(after)
        tail = " ORDER BY namespace, name" + (" LIMIT ?" if limit > 0 else "")
        lim: list[Any] = [limit] if limit > 0 else []
        if at_rv is None or at_rv >= self.revision:
            rows = self.conn.execute(
                f"SELECT namespace, name, data FROM objects WHERE {where}{tail}",
                [*args, *lim]).fetchall()
            return _decoded(rows), self.revision if at_rv is None else at_rv
        if at_rv + 1 < self.compacted:
            raise continue_expired()
        query = (
            f"SELECT namespace, name, data FROM objects WHERE {where} AND rv <= ? "
            f"UNION ALL SELECT namespace, name, prev FROM events e WHERE {where} "
            "AND rv > ? AND prev IS NOT NULL AND rv = (SELECT MIN(rv) FROM events x "
            "WHERE x.resource=e.resource AND x.namespace=e.namespace AND x.name=e.name "
            f"AND x.rv > ?){tail}")
        rows = self.conn.execute(query, [*args, at_rv, *args, at_rv, at_rv, *lim]).fetchall()
        return _decoded(rows), at_rv

    def history(self, resource: str, after: int, upto: int, limit: int) -> list[Change]:
        """Changes of ``resource`` with after < rv <= upto, oldest first; Gone if compacted."""
        if after + 1 < self.compacted:
            raise too_old(after, self.compacted)
        rows = self.conn.execute(
            "SELECT rv, type, namespace, name, data, prev FROM events "
            "WHERE resource=? AND rv > ? AND rv <= ? ORDER BY rv LIMIT ?",
            (resource, after, upto, limit)).fetchall()
        return [Change(r[1], int(r[0]), r[2], r[3], r[4], r[5]) for r in rows]
