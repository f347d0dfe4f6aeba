"""WATCH: a chunked stream of JSON lines, `{"type": ..., "object": ...}`, one per change.

Kubernetes semantics: without a resourceVersion (or with "0") the stream starts with
a synthetic ADDED event for every current object, then the changes after that
snapshot; with a resourceVersion it carries the changes after it; a compacted one
gives a single ERROR event whose object is a 410 Expired Status. With
`allowWatchBookmarks` the server sends BOOKMARK events now and then (and, with
`sendInitialEvents=true`, one annotated `k8s.io/initial-events-end` after the
initial ADDED events). `timeoutSeconds` ends the stream.

A pump task moves events from the store's watch into a bounded queue; the writer
loop drains whatever is queued into one chunk, and wakes every second to notice a
client that went away, to send bookmarks and to honour the deadline. Tables (kubectl
get -w) become one-row Tables per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from berth.api.errors import APIError, internal_error
from berth.api.resources import Resource
from berth.server.negotiate import TABLE_CONTENT_TYPE, ListOptions, Output
from berth.server.paths import Target
from berth.server.reads import list_all, selectors
from berth.server.render import build_table, dumps
from berth.server.state import ServerState
from berth.store.base import WatchEvent

Obj = dict[str, Any]
TICK = 1.0
QUEUE_SIZE = 1024
_END = object()


def render_event(res: Resource, kind: str, obj: Obj, output: Output, opts: ListOptions) -> bytes:
    """One JSON line for one event."""
    if output.table and kind in ("ADDED", "MODIFIED", "DELETED"):
        obj = build_table(res, [obj], include_object=opts.include_object)
    return dumps({"type": kind, "object": obj}) + b"\n"


def bookmark(res: Resource, rv: str, initial_end: bool = False) -> Obj:
    meta: Obj = {"resourceVersion": rv}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}


async def _pump(events: AsyncIterator[WatchEvent], queue: asyncio.Queue[Any]) -> None:
    try:
        async for event in events:
            await queue.put(event)
    except APIError as exc:
        await queue.put(exc)
    except Exception as exc:  # a broken store must still end the stream with a Status
        await queue.put(internal_error(str(exc)))
    finally:
        await queue.put(_END)


async def watch(request: web.Request, st: ServerState, target: Target, output: Output,
                opts: ListOptions) -> web.StreamResponse:
    res = target.resource
    labels, fields = selectors(opts)
    rv = opts.resource_version
    initial: list[Obj] = []
    if rv in (None, "0") or opts.send_initial_events:
        page = await list_all(st, target, opts, limit=0)
        initial, rv = page.items, page.resource_version
    events = st.store.watch(res.key, target.namespace, resource_version=rv,
                            label_selector=labels, field_selector=fields)
    content_type = TABLE_CONTENT_TYPE if output.table else "application/json"
    resp = web.StreamResponse(headers={"Content-Type": content_type,
                                       "Cache-Control": "no-cache, private"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
    pump = asyncio.ensure_future(_pump(events, queue))
    timeout = opts.timeout_seconds if opts.timeout_seconds else st.default_watch_seconds
    deadline = time.monotonic() + timeout
    last_rv = str(rv or "")
    try:
        chunk = b"".join(render_event(res, "ADDED", o, output, opts) for o in initial)
        if opts.send_initial_events and opts.allow_bookmarks:
            chunk += render_event(res, "BOOKMARK", bookmark(res, last_rv, True), output, opts)
        if chunk:
            await resp.write(chunk)
        next_bookmark = time.monotonic() + st.bookmark_seconds
        while True:
            now = time.monotonic()
            if now >= deadline or st.closing:
                break
            try:  # not wait_for: on 3.11 it can swallow a cancel when an item just arrived
                async with asyncio.timeout(min(TICK, deadline - now)):
                    item = await queue.get()
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    break
                if opts.allow_bookmarks and time.monotonic() >= next_bookmark and last_rv:
                    await resp.write(render_event(res, "BOOKMARK", bookmark(res, last_rv),
                                                  output, opts))
                    next_bookmark = time.monotonic() + st.bookmark_seconds
                continue
            items = [item]
            while not queue.empty() and len(items) < 256:
                items.append(queue.get_nowait())
            parts: list[bytes] = []
            done = False
            for it in items:
                if it is _END:
                    done = True
                    break
                if isinstance(it, APIError):
                    parts.append(dumps({"type": "ERROR", "object": it.to_status()}) + b"\n")
                    done = True
                    break
                last_rv = it.resource_version
                parts.append(render_event(res, it.type, it.object, output, opts))
            if parts:
                await resp.write(b"".join(parts))
            if done:
                break
    except ConnectionResetError:
        return resp
    finally:
        pump.cancel()
        with contextlib.suppress(BaseException):
            await pump
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(BaseException):
                await aclose()
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp
