"""The etcd v3 backend: several API servers share one etcd cluster.

Layout and semantics follow Kubernetes' own etcd3 storage:

- keys ``/registry/<resource>/<namespace>/<name>`` (cluster-scoped kinds:
  ``/registry/<resource>/<name>``); values are the object's JSON;
- resourceVersion is the key's etcd ``mod_revision``, stamped on every
  object read (the stored JSON does not carry it);
- create is a txn guarded by ``create_revision == 0``; update and delete are
  txns guarded by ``mod_revision == <wanted>`` (or "exists" when
  unconditional), whose failure branch reads the key to tell NotFound from
  Conflict;
- lists are ranges pinned to the first page's revision; watches are etcd
  watches from ``resourceVersion + 1`` with ``prev_kv`` (for selector
  semantics), resumed on another member from the last revision seen when a
  member fails. etcd itself holds back slow watchers without blocking
  writers, and gRPC flow control bounds what a slow consumer buffers.

Requests go through `etcd_conn.EtcdEndpoints`, which fails over among members.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aetcd import rpc

from berth.api.errors import already_exists, conflict, not_found
from berth.store.base import EventType, FieldMatcher, LabelMatcher, ListResult, Obj, WatchEvent
from berth.store.codec import dumps, identity, loads, object_rv, parse_rv, with_rv
from berth.store.compaction import AutoCompactor, CompactionPolicy
from berth.store.errors import (
    StoreUnavailable,
    continue_expired,
    precondition_failed,
    too_old,
)
from berth.store.etcd_conn import EtcdEndpoints, is_retryable
from berth.store.filtering import Change, Filter, plan_event
from berth.store.listing import Row, paginate

PREFIX = "/registry/"
#: Pause before a watch resumes after its stream ended or its member failed.
RESUME_DELAY = 0.05


def object_key(resource: str, namespace: str, name: str) -> bytes:
    if namespace:
        return f"{PREFIX}{resource}/{namespace}/{name}".encode()
    return f"{PREFIX}{resource}/{name}".encode()


def range_prefix(resource: str, namespace: str | None) -> bytes:
    if namespace:
        return f"{PREFIX}{resource}/{namespace}/".encode()
    return f"{PREFIX}{resource}/".encode()


def prefix_end(prefix: bytes) -> bytes:
    """The first key after every key starting with ``prefix`` (prefix ends in '/')."""
    return prefix[:-1] + bytes([prefix[-1] + 1])


def split_key(resource: str, key: bytes) -> tuple[str, str]:
    """(namespace, name) of a key under ``/registry/<resource>/``."""
    rest = key.decode()[len(PREFIX) + len(resource) + 1:]
    namespace, sep, name = rest.partition("/")
    return (namespace, name) if sep else ("", rest)


def decode_kv(kv: Any) -> Obj:
    return with_rv(loads(kv.value), kv.mod_revision)


def _compare(key: bytes, target: str, value: int, result: str = "EQUAL") -> Any:
    cmp = rpc.Compare(key=key, target=getattr(rpc.Compare, target),
                      result=getattr(rpc.Compare, result))
    if target == "MOD":
        cmp.mod_revision = value
    elif target == "CREATE":
        cmp.create_revision = value
    else:
        cmp.version = value
    return cmp


def _guard(key: bytes, want: int | None) -> Any:
    """The key is at revision ``want``, or merely exists when ``want`` is None."""
    if want is not None:
        return _compare(key, "MOD", want)
    return _compare(key, "VERSION", 0, "GREATER")


def _body(obj: Obj) -> tuple[Obj, bytes]:
    """The object without resourceVersion (etcd's mod_revision is that) and its bytes."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    body = {**obj, "metadata": meta}
    return body, dumps(body).encode()


def _is_compacted(exc: BaseException) -> bool:
    return isinstance(exc, rpc.AioRpcError) and "compacted" in (exc.details() or "")


class EtcdStore:
    """`Store` on etcd v3; create with `EtcdStore.connect`."""

    def __init__(self, endpoints: EtcdEndpoints,
                 compaction: CompactionPolicy | None = None) -> None:
        self._ep = endpoints
        self._compactor: AutoCompactor | None = None
        if compaction is not None:
            self._compactor = AutoCompactor(self.current_revision, self.compact, compaction)
            self._compactor.start()

    @classmethod
    async def connect(cls, endpoints: list[tuple[str, int]], *,
                      compaction: CompactionPolicy | None = None,
                      timeout: float = 5.0, retry_for: float = 15.0) -> EtcdStore:
        """Connect and check that the cluster answers (StoreUnavailable if not).

        ``timeout`` bounds one request to one member; ``retry_for`` the whole
        operation across members.
        """
        store = cls(EtcdEndpoints(endpoints, timeout=timeout, retry_for=retry_for), None)
        try:
            await store.current_revision()
        except BaseException:
            await store.close()
            raise
        if compaction is not None:
            store._compactor = AutoCompactor(store.current_revision, store.compact, compaction)
            store._compactor.start()
        return store

    @property
    def current_endpoint(self) -> tuple[str, int]:
        """The member requests go to now (it changes on failover)."""
        return self._ep.endpoints[self._ep.current]

    async def _txn(self, key: bytes, guard: Any, op: Any) -> tuple[bool, Any, Any, bool]:
        """(succeeded, response, current kv when it failed, whether it was retried)."""
        read = rpc.RequestOp(request_range=rpc.RangeRequest(key=key))
        request = rpc.TxnRequest(compare=[guard], success=[op], failure=[read])
        resp, retried = await self._ep.call_tracked(
            lambda kv: kv.Txn(request, timeout=self._ep.timeout))
        if resp.succeeded:
            return True, resp, None, retried
        kvs = resp.responses[0].response_range.kvs
        return False, resp, (kvs[0] if kvs else None), retried

    # --- writes ---------------------------------------------------------------
    # A write retried after a lost answer may have been applied by the first try:
    # the key then holds exactly our bytes, which is success, not a conflict.

    async def create(self, resource: str, obj: Obj) -> Obj:
        namespace, name = identity(obj)
        key = object_key(resource, namespace, name)
        body, value = _body(obj)
        put = rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value))
        ok, resp, current, retried = await self._txn(key, _compare(key, "CREATE", 0), put)
        if ok:
            return with_rv(body, resp.header.revision)
        if retried and current is not None and current.value == value:
            return with_rv(body, current.mod_revision)
        raise already_exists(resource, name)

    async def update(self, resource: str, obj: Obj) -> Obj:
        namespace, name = identity(obj)
        key = object_key(resource, namespace, name)
        want = object_rv(obj)
        body, value = _body(obj)
        put = rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value))
        ok, resp, current, retried = await self._txn(key, _guard(key, want), put)
        if ok:
            return with_rv(body, resp.header.revision)
        if current is None:
            raise not_found(resource, name)
        if retried and current.value == value:
            return with_rv(body, current.mod_revision)
        raise conflict(resource, name)

    async def delete(self, resource: str, namespace: str, name: str,
                     resource_version: str | None = None) -> Obj:
        key = object_key(resource, namespace, name)
        want = parse_rv(resource_version)
        op = rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key, prev_kv=True))
        ok, resp, current, _ = await self._txn(key, _guard(key, want), op)
        if not ok and current is not None:
            raise precondition_failed(resource, name, str(want), current.mod_revision)
        prev = resp.responses[0].response_delete_range.prev_kvs if ok else None
        if not prev:
            raise not_found(resource, name)
        return with_rv(loads(prev[0].value), resp.header.revision)

    # --- reads ----------------------------------------------------------------

    async def get(self, resource: str, namespace: str, name: str) -> Obj:
        key = object_key(resource, namespace, name)
        resp = await self._ep.call(
            lambda kv: kv.Range(rpc.RangeRequest(key=key), timeout=self._ep.timeout))
        if not resp.kvs:
            raise not_found(resource, name)
        return decode_kv(resp.kvs[0])

    async def list(self, resource: str, namespace: str | None = None, *,
                   label_selector: LabelMatcher | None = None,
                   field_selector: FieldMatcher | None = None,
                   limit: int = 0, continue_token: str | None = None) -> ListResult:
        prefix = range_prefix(resource, namespace)
        end = prefix_end(prefix)

        async def fetch(after: tuple[str, str] | None, at_rv: int | None,
                        n: int) -> tuple[list[Row], int]:
            start = object_key(resource, *after) + b"\0" if after else prefix
            request = rpc.RangeRequest(key=start, range_end=end, limit=n, revision=at_rv or 0)
            try:
                resp = await self._ep.call(lambda kv: kv.Range(request, timeout=self._ep.timeout))
            except rpc.AioRpcError as exc:
                if at_rv and _is_compacted(exc):
                    raise continue_expired() from exc
                raise
            rows: list[Row] = [(*split_key(resource, kv.key), decode_kv(kv)) for kv in resp.kvs]
            return rows, at_rv or resp.header.revision

        flt = Filter(namespace, label_selector, field_selector)
        return await paginate(fetch, flt, limit, continue_token)

    async def current_revision(self) -> int:
        request = rpc.RangeRequest(key=b"/registry/", count_only=True)
        resp = await self._ep.call(lambda kv: kv.Range(request, timeout=self._ep.timeout))
        return int(resp.header.revision)

    async def compact(self, revision: int) -> None:
        revision = min(revision, await self.current_revision())
        if revision <= 0:
            return
        request = rpc.CompactionRequest(revision=revision, physical=True)
        try:
            await self._ep.call(lambda kv: kv.Compact(request, timeout=self._ep.timeout))
        except rpc.AioRpcError as exc:
            if not _is_compacted(exc):  # already compacted past it: nothing to do
                raise

    # --- watch ----------------------------------------------------------------

    async def watch(self, resource: str, namespace: str | None = None, *,
                    resource_version: str | None = None,
                    label_selector: LabelMatcher | None = None,
                    field_selector: FieldMatcher | None = None) -> AsyncIterator[WatchEvent]:
        """Every change after ``resource_version`` (None/"0": from now), in order."""
        flt = Filter(namespace, label_selector, field_selector)
        start = parse_rv(resource_version) or await self.current_revision()
        prefix = range_prefix(resource, namespace)
        next_rev = start + 1
        while True:
            member = self._ep.current
            try:
                async for change in self._stream(resource, prefix, start, next_rev):
                    next_rev = change.rv + 1
                    event = plan_event(change, flt)
                    if event is not None:
                        yield event
            except rpc.AioRpcError as exc:
                if not is_retryable(exc):
                    raise StoreUnavailable(f"etcd watch failed: {exc.details()}") from exc
                self._ep.rotate(member)
            # The stream ended or failed: resume from the next revision (on another member).
            await asyncio.sleep(RESUME_DELAY)
            await self.current_revision()

    async def _stream(self, resource: str, prefix: bytes, start: int,
                      next_rev: int) -> AsyncIterator[Change]:
        call = self._ep.watch_stub().Watch()
        try:
            await call.write(rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
                key=prefix, range_end=prefix_end(prefix), start_revision=next_rev,
                prev_kv=True)))
            async for resp in call:
                if resp.compact_revision:
                    raise too_old(start, resp.compact_revision)
                if resp.canceled:
                    raise StoreUnavailable(f"etcd cancelled the watch: {resp.cancel_reason}")
                for ev in resp.events:
                    yield self._change(resource, ev)
        finally:
            call.cancel()

    @staticmethod
    def _change(resource: str, ev: Any) -> Change:
        kv = ev.kv
        namespace, name = split_key(resource, kv.key)
        prev = ev.prev_kv.value if ev.HasField("prev_kv") else None
        if ev.type == rpc.Event.DELETE:
            data = prev if prev is not None else dumps(
                {"metadata": {"name": name, "namespace": namespace} if namespace
                 else {"name": name}})
            return Change("DELETED", kv.mod_revision, namespace, name, data, prev)
        kind: EventType = "ADDED" if kv.create_revision == kv.mod_revision else "MODIFIED"
        return Change(kind, kv.mod_revision, namespace, name, kv.value, prev)

    async def close(self) -> None:
        if self._compactor is not None:
            await self._compactor.stop()
        await self._ep.close()
