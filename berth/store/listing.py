"""Paginated, selector-filtered lists over any backend's ordered key range.

A backend supplies one primitive, `FetchPage`: up to ``n`` rows after a key,
ordered by (namespace, name), as of a revision (None: now), returning the
revision it read at. `paginate` builds Kubernetes list semantics on top: the
first page fixes the snapshot revision, the continue token carries it with
the last key returned, and selectors are applied while reading so a page
holds up to ``limit`` matching objects (like the API server, it may hand out
a token whose next page turns out empty).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from berth.store.base import ListResult, Obj
from berth.store.codec import decode_continue, encode_continue
from berth.store.filtering import Filter

Row = tuple[str, str, Obj]  # namespace, name, decoded object (resourceVersion set)
FetchPage = Callable[[tuple[str, str] | None, int | None, int], Awaitable[tuple[list[Row], int]]]

#: Rows read per round trip when selectors may discard most of them.
FILTERED_BATCH = 500


async def paginate(fetch: FetchPage, flt: Filter, limit: int,
                   continue_token: str | None) -> ListResult:
    if limit < 0:
        limit = 0
    at_rv: int | None = None
    after: tuple[str, str] | None = None
    if continue_token:
        at_rv, ns, name = decode_continue(continue_token)
        after = (ns, name)
    batch = limit if flt.selects_all or limit == 0 else max(limit, FILTERED_BATCH)
    items: list[Obj] = []
    while True:
        rows, rev = await fetch(after, at_rv, batch)
        at_rv = rev
        for index, (ns, name, obj) in enumerate(rows):
            after = (ns, name)
            if not flt.matches(obj):
                continue
            items.append(obj)
            if limit and len(items) == limit:
                more = index < len(rows) - 1 or len(rows) == batch
                token = encode_continue(rev, ns, name) if more else None
                return ListResult(items, str(rev), token)
        if batch == 0 or len(rows) < batch:
            return ListResult(items, str(rev), None)
