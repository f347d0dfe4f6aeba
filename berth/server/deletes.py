"""DELETE of one object, deletecollection, and the namespace reaper.

`delete_object` applies `strategy.plan_delete`: remove now, or store the object
marked with deletionTimestamp (a pod bound to a node waits for its node agent; any
object waits for its finalizers). Deleting a Namespace marks it Terminating and
hands it to `reap_namespace`, which deletes everything in it and removes the
namespace once it is empty; `ensure_reaper` re-runs that every few seconds, so
pods that terminate slowly (or a restart in between) still end with the namespace
gone. The four built-in namespaces cannot be deleted, as in Kubernetes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from berth.api.errors import APIError, Conflict, Forbidden, NotFound
from berth.api.resources import RESOURCES, Resource
from berth.server import bodies
from berth.server.negotiate import DeleteOptions, ListOptions, Output, delete_options
from berth.server.paths import Target
from berth.server.reads import list_all
from berth.server.render import json_response, object_response, success_status, with_kind
from berth.server.state import BUILTIN_NAMESPACES, ServerState
from berth.server.strategy import plan_delete

Obj = dict[str, Any]
log = logging.getLogger(__name__)
REAP_INTERVAL = 2.0
RETURN_DELETED = frozenset({"pods", "services", "namespaces"})
DELETE_RETRIES = 5


async def read_delete_options(request: web.Request, st: ServerState) -> DeleteOptions:
    body: Any = None
    if request.can_read_body:
        data = await bodies.read_bytes(request, st.max_body_bytes)
        if data.strip():
            body = bodies.parse_json(data, "DeleteOptions")
    return delete_options(request.query, body)


async def delete_object(st: ServerState, res: Resource, namespace: str, name: str,
                        options: DeleteOptions) -> Obj:
    """Delete or mark one object; the object as it is afterwards (or was, if removed)."""
    if res.key == "namespaces":
        return await _delete_namespace(st, name, options)
    for attempt in range(DELETE_RETRIES):
        obj = await st.store.get(res.key, namespace, name)
        plan = plan_delete(res, obj, options, st.clock())
        if options.dry_run or plan.action == "noop":
            return plan.obj
        try:
            if plan.action == "delete":
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                gone = await st.store.delete(res.key, namespace, name, resource_version=rv)
                await st.admission.removed(res.key, gone)  # give back IP/ports
                return gone
            return await st.store.update(res.key, plan.obj)
        except Conflict:
            if attempt + 1 == DELETE_RETRIES:
                raise
    raise AssertionError("unreachable")


async def _delete_namespace(st: ServerState, name: str, options: DeleteOptions) -> Obj:
    if name in BUILTIN_NAMESPACES:
        raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                        {"name": name, "kind": "namespaces"})
    ns = await st.store.get("namespaces", "", name)
    if options.dry_run:
        return ns
    meta = ns.setdefault("metadata", {})
    if not meta.get("deletionTimestamp"):
        meta["deletionTimestamp"] = st.now_text()
        meta["deletionGracePeriodSeconds"] = 0
        ns.setdefault("status", {})["phase"] = "Terminating"
        ns = await st.store.update("namespaces", ns)
    st.forget_namespace(name)
    st.spawn(reap_namespace(st, name))
    return ns


async def reap_namespace(st: ServerState, name: str) -> bool:
    """Delete the contents of a terminating namespace; remove it when empty. True if gone."""
    remaining = 0
    for res in RESOURCES:
        if not res.namespaced or "delete" not in res.verbs:
            continue
        page = await st.store.list(res.key, name)
        for obj in page.items:
            remaining += 1
            meta = obj.get("metadata") or {}
            if meta.get("deletionTimestamp"):
                continue
            with contextlib.suppress(NotFound, Conflict):
                await delete_object(st, res, name, meta.get("name", ""), DeleteOptions())
    if remaining:
        return False
    try:
        ns = await st.store.get("namespaces", "", name)
        if (ns.get("metadata") or {}).get("finalizers"):
            return False
        await st.store.delete("namespaces", "", name)
    except NotFound:
        pass
    st.forget_namespace(name)
    return True


async def run_reaper(st: ServerState) -> None:
    """Forever: finish terminating namespaces (a background task of the app)."""
    while True:
        await asyncio.sleep(REAP_INTERVAL)
        try:
            page = await st.store.list("namespaces")
            for ns in page.items:
                meta = ns.get("metadata") or {}
                if meta.get("deletionTimestamp"):
                    await reap_namespace(st, meta.get("name", ""))
        except APIError as exc:
            log.warning("namespace reaper: %s", exc.message)


async def delete(request: web.Request, st: ServerState, target: Target, output: Output) -> \
        web.StreamResponse:
    """The object while its deletion is pending; once removed, the object for the kinds
    Kubernetes returns it for (ReturnDeletedObject), else a Success Status."""
    res = target.resource
    assert target.name is not None
    options = await read_delete_options(request, st)
    obj = await delete_object(st, res, target.namespace or "", target.name, options)
    meta = obj.get("metadata") or {}
    if res.key in RETURN_DELETED or meta.get("deletionTimestamp"):
        return object_response(res, with_kind(res, obj), output)
    details = {"name": target.name, "group": res.group, "kind": res.plural,
               "uid": meta.get("uid", "")}
    return json_response(success_status(details))


async def delete_collection(request: web.Request, st: ServerState, target: Target,
                            opts: ListOptions) -> web.StreamResponse:
    res = target.resource
    options = await read_delete_options(request, st)
    page = await list_all(st, target, opts, limit=0)
    deleted: list[Obj] = []
    for obj in page.items:
        meta = obj.get("metadata") or {}
        with contextlib.suppress(NotFound):
            deleted.append(await delete_object(st, res, meta.get("namespace") or "",
                                               meta.get("name", ""), options))
    return json_response({"kind": res.list_kind, "apiVersion": res.api_version,
                          "metadata": {"resourceVersion": page.resource_version},
                          "items": deleted})
