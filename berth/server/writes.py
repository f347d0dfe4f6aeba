"""Create, update, patch and bind: every verb that writes one object.

Each verb follows the same order, so nothing is stored on any error:
decode (bodies) -> server-owned fields (strategy) -> defaults -> validation
(422 with every cause) -> store. `dryRun=All` stops before the store.
PATCH reads the current object, applies the patch (berth.api.patch) and goes
through the update path; when the store reports a conflict because someone wrote
in between, it re-reads and re-applies (as the Kubernetes API server does), unless
the patch itself pinned a resourceVersion.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from aiohttp import web

from berth.api import patch as patches
from berth.api import schema
from berth.api.defaults import apply_defaults
from berth.api.errors import AlreadyExists, BadRequest, Conflict, NotFound, conflict, invalid
from berth.api.resources import Resource, by_plural
from berth.api.validation import validate
from berth.server import bodies
from berth.server.negotiate import (
    JSON_PATCH,
    MERGE_PATCH,
    PATCH_TYPES,
    Output,
    check_body_type,
    is_dry_run,
)
from berth.server.paths import Target
from berth.server.render import json_response, object_response, success_status, with_kind
from berth.server.state import ServerState, namespace_not_found
from berth.server.strategy import finished_deleting, plan_binding, prepare_create, prepare_update

Obj = dict[str, Any]
PATCH_RETRIES = 5
GENERATE_RETRIES = 8


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def check_valid(res: Resource, obj: Obj, old: Obj | None = None) -> None:
    """422 Invalid with every cause, worded as Kubernetes."""
    errors = validate(obj, old) if old is not None else validate(obj)
    if errors:
        name = _meta(obj).get("name") or ""
        raise invalid(res.kind, str(name), errors, res.group)


def _set_namespace(res: Resource, target: Target, obj: Obj) -> None:
    meta = _meta(obj)
    if not res.namespaced:
        meta.pop("namespace", None)
        return
    given = meta.get("namespace")
    if given and given != target.namespace:
        raise BadRequest("the namespace of the provided object does not match the namespace "
                         "sent on the request")
    meta["namespace"] = target.namespace


async def create(request: web.Request, st: ServerState, target: Target, output: Output) -> \
        web.StreamResponse:
    res = target.resource
    obj = await bodies.read_object(request, res, st.max_body_bytes)
    dry_run = is_dry_run(request.query.getall("dryRun", []))
    _set_namespace(res, target, obj)
    if res.namespaced and target.namespace:
        try:
            await st.ensure_namespace_open(target.namespace)
        except NotFound:
            raise namespace_not_found(target.namespace) from None
    generated = not _meta(obj).get("name") and bool(_meta(obj).get("generateName"))
    template = copy.deepcopy(obj) if generated else obj
    for attempt in range(GENERATE_RETRIES):
        obj = copy.deepcopy(template) if attempt else obj
        prepare_create(res, obj, now=st.now_text(), uid=st.new_uid())
        apply_defaults(obj)
        check_valid(res, obj)
        if dry_run:
            return object_response(res, obj, output, 201)
        try:
            stored = await st.admission.create(res.key, obj)  # a Service gets its ClusterIP
        except AlreadyExists:
            if generated and attempt + 1 < GENERATE_RETRIES:
                continue
            raise
        return object_response(res, with_kind(res, stored), output, 201)
    raise AssertionError("unreachable")


async def store_update(st: ServerState, res: Resource, old: Obj, new: Obj, sub: str | None,
                       dry_run: bool) -> Obj:
    """Apply the update rules to `new` over `old`, validate and write; return the result."""
    result = prepare_update(res, old, new, sub)
    if sub is None:
        apply_defaults(result)
        st.admission.default_update(res.key, old, result)  # keep allocated IP/ports
    check_valid(res, result, old)
    if result == old or dry_run:
        return old if result == old else result
    if sub is None:  # admission claims what the new spec adds, releases what it dropped
        stored = await st.admission.update(res.key, old, result)
    else:
        stored = await st.store.update(res.key, result)
    if res.key == "namespaces":
        st.forget_namespace(_meta(stored).get("name", ""))
    if finished_deleting(stored):
        meta = _meta(stored)
        with contextlib.suppress(NotFound):
            stored = await st.store.delete(res.key, meta.get("namespace") or "", meta["name"],
                                           resource_version=meta.get("resourceVersion"))
            await st.admission.removed(res.key, stored)  # give back IP/ports
    return stored


async def update(request: web.Request, st: ServerState, target: Target, output: Output) -> \
        web.StreamResponse:
    res = target.resource
    assert target.name is not None
    new = await bodies.read_object(request, res, st.max_body_bytes)
    dry_run = is_dry_run(request.query.getall("dryRun", []))
    _set_namespace(res, target, new)
    meta = _meta(new)
    if meta.get("name") not in (None, "", target.name):
        raise BadRequest(f"the name of the object ({meta.get('name')}) does not match the name "
                         f"on the URL ({target.name})")
    meta["name"] = target.name
    old = await st.store.get(res.key, target.namespace or "", target.name)
    wanted_rv = meta.get("resourceVersion")
    if wanted_rv and wanted_rv != _meta(old).get("resourceVersion"):
        raise _conflict(res, target.name)
    stored = await store_update(st, res, old, new, target.subresource, dry_run)
    return object_response(res, with_kind(res, stored), output)


def _conflict(res: Resource, name: str) -> Conflict:
    return conflict(res.key, name)


def apply_patch(res: Resource, current: Obj, media: str, body: Any) -> Obj:
    """The object `body` (already parsed) makes of `current`."""
    if media == MERGE_PATCH:
        return patches.apply_merge_patch(current, body)
    if media == JSON_PATCH:
        return patches.apply_json_patch(current, body)
    try:
        type_name: str | None = schema.root_type(res.api_version, res.kind)
    except KeyError:
        type_name = None
    return patches.apply_strategic_merge_patch(current, body, type_name, schema.types())


def _pins_resource_version(body: Any) -> bool:
    meta = body.get("metadata") if isinstance(body, dict) else None
    return isinstance(meta, dict) and bool(meta.get("resourceVersion"))


async def patch(request: web.Request, st: ServerState, target: Target, output: Output) -> \
        web.StreamResponse:
    res = target.resource
    assert target.name is not None
    media = check_body_type(request.headers.get("Content-Type"), PATCH_TYPES)
    data = await bodies.read_bytes(request, st.max_body_bytes)
    body = bodies.parse_json(data, "patch")
    dry_run = is_dry_run(request.query.getall("dryRun", []))
    pinned = _pins_resource_version(body)
    for attempt in range(PATCH_RETRIES):
        current = await st.store.get(res.key, target.namespace or "", target.name)
        patched = apply_patch(res, current, media, body)
        patched = bodies.check_kind(res, patched)
        bodies.check_strict(patched)
        meta = _meta(patched)
        if meta.get("name") != target.name:
            raise BadRequest(f"metadata.name: Invalid value: {meta.get('name')!r}: field is "
                             f"immutable")
        if pinned and meta.get("resourceVersion") != _meta(current).get("resourceVersion"):
            raise _conflict(res, target.name)
        meta["resourceVersion"] = _meta(current).get("resourceVersion")
        try:
            stored = await store_update(st, res, current, patched, target.subresource, dry_run)
        except Conflict:
            if pinned or attempt + 1 == PATCH_RETRIES:
                raise
            continue
        return object_response(res, with_kind(res, stored), output)
    raise AssertionError("unreachable")


async def bind(request: web.Request, st: ServerState, target: Target, pod_name: str | None) -> \
        web.StreamResponse:
    """POST pods/{name}/binding or POST bindings: set spec.nodeName of a pending pod."""
    binding_res = by_plural("", "bindings")
    assert binding_res is not None
    binding = await bodies.read_object(request, binding_res, st.max_body_bytes,
                                       kind="Binding", api_version="v1")
    name = pod_name or _meta(binding).get("name")
    if not name:
        raise BadRequest("metadata.name: Required value: the binding names the pod")
    pods = by_plural("", "pods")
    assert pods is not None
    for attempt in range(PATCH_RETRIES):
        pod = await st.store.get("pods", target.namespace or "", name)
        bound = plan_binding(pod, binding)
        try:
            await st.store.update("pods", bound)
        except Conflict:
            if attempt + 1 == PATCH_RETRIES:
                raise
            continue
        return json_response(success_status(code=201), 201)
    raise AssertionError("unreachable")
