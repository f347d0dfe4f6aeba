"""GET of one object and LIST of a collection (watch lives in `watch`).

Both honour content negotiation: kubectl's `as=Table` gets a meta.k8s.io/v1 Table
built by berth.api.tables, everyone else the objects. Lists pass label and field
selectors, limit and continue straight to the store, which filters and pages.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from berth.api.selectors import FieldSelector, LabelSelector
from berth.server.negotiate import TABLE_CONTENT_TYPE, ListOptions, Output
from berth.server.paths import Target
from berth.server.render import build_table, dumps, json_response, object_response, with_kind
from berth.server.state import ServerState
from berth.store.base import ListResult

Obj = dict[str, Any]


def selectors(opts: ListOptions) -> tuple[LabelSelector | None, FieldSelector | None]:
    """Parsed selectors (None when empty); SelectorError (400) on bad syntax."""
    labels = LabelSelector.parse(opts.label_selector) if opts.label_selector else None
    fields = FieldSelector.parse(opts.field_selector) if opts.field_selector else None
    return labels, fields


async def get(st: ServerState, target: Target, output: Output, opts: ListOptions) -> \
        web.StreamResponse:
    assert target.name is not None
    obj = await st.store.get(target.resource.key, target.namespace or "", target.name)
    return object_response(target.resource, with_kind(target.resource, obj), output,
                           include_object=opts.include_object)


async def list_all(st: ServerState, target: Target, opts: ListOptions,
                   limit: int | None = None) -> ListResult:
    """One page (or everything when limit is 0) of the addressed collection."""
    labels, fields = selectors(opts)
    return await st.store.list(target.resource.key, target.namespace, label_selector=labels,
                               field_selector=fields,
                               limit=opts.limit if limit is None else limit,
                               continue_token=opts.continue_token)


async def list_(st: ServerState, target: Target, output: Output, opts: ListOptions) -> \
        web.StreamResponse:
    res = target.resource
    page = await list_all(st, target, opts)
    if output.table:
        table = build_table(res, page.items, include_object=opts.include_object,
                            resource_version=page.resource_version,
                            continue_token=page.continue_token or "")
        return web.Response(body=dumps(table), headers={"Content-Type": TABLE_CONTENT_TYPE})
    meta: Obj = {"resourceVersion": page.resource_version}
    if page.continue_token:
        meta["continue"] = page.continue_token
    return json_response({"kind": res.list_kind, "apiVersion": res.api_version,
                          "metadata": meta, "items": page.items})
