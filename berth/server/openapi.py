"""OpenAPI v3 documents, generated from berth.api.schema and the resource table.

`/openapi/v3` lists one document per group-version (`api/v1`, `apis/apps/v1`, ...)
with a `serverRelativeURL` carrying a content hash, as the Kubernetes API server
does; `/openapi/v3/{path}` serves the document. Each document has the schemas
(every definition, each root marked with `x-kubernetes-group-version-kind`, list
fields with `x-kubernetes-patch-strategy`/`-merge-key` from berth.api.patch), and the
REST paths of its resources. The PATCH (and POST/PUT) operations declare the
`fieldValidation` query parameter: kubectl looks for exactly that to decide that the
server validates fields itself. Documents are built once, on first request.
`/openapi/v2` is not served (404); kubectl works from v3.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from aiohttp import web

from berth.api import schema
from berth.api.patch import MERGE_KEYS
from berth.api.resources import Resource, groups
from berth.server.paths import not_found_path
from berth.server.render import dumps

Obj = dict[str, Any]
REF = "#/components/schemas/"
SCALARS: dict[str, Obj] = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int64"},
    "number": {"type": "number", "format": "double"},
    "boolean": {"type": "boolean"},
    "quantity": {"type": "string", "format": "quantity"},
    "int-or-string": {"type": "string", "format": "int-or-string",
                      "x-kubernetes-int-or-string": True},
    "time": {"type": "string", "format": "date-time"},
    "object": {"type": "object"},
}


def type_schema(expr: str) -> Obj:
    """The OpenAPI schema of a berth type expression."""
    if expr in SCALARS:
        return dict(SCALARS[expr])
    if expr.startswith("[]"):
        return {"type": "array", "items": type_schema(expr[2:])}
    if expr.startswith("map[") and expr.endswith("]"):
        return {"type": "object", "additionalProperties": type_schema(expr[4:-1])}
    return {"$ref": REF + expr}


def definition_schemas() -> dict[str, Obj]:
    gvks: dict[str, list[Obj]] = {}
    for api_kind, type_name in schema.roots().items():
        gv, _, kind = api_kind.rpartition("/")
        group, _, version = gv.rpartition("/")
        gvks.setdefault(type_name, []).append({"group": group, "version": version, "kind": kind})
    out: dict[str, Obj] = {}
    for name, fields in schema.types().items():
        props: Obj = {}
        metas = MERGE_KEYS.get(name, {})
        for field, expr in fields.items():
            prop = type_schema(expr)
            meta = metas.get(field)
            if meta is not None:
                prop["x-kubernetes-patch-strategy"] = meta.strategy
                if meta.merge_key:
                    prop["x-kubernetes-patch-merge-key"] = meta.merge_key
            props[field] = prop
        definition: Obj = {"type": "object", "properties": props}
        required = schema.required_fields(name)
        if required:
            definition["required"] = list(required)
        if name in gvks:
            definition["x-kubernetes-group-version-kind"] = gvks[name]
        out[name] = definition
    return out


def _param(name: str, where: str = "query", required: bool = False) -> Obj:
    return {"name": name, "in": where, "required": required, "schema": {"type": "string"}}


WRITE_PARAMS = [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")]
LIST_PARAMS = [_param(p) for p in ("labelSelector", "fieldSelector", "limit", "continue",
                                   "resourceVersion", "watch", "allowWatchBookmarks",
                                   "timeoutSeconds", "sendInitialEvents")]
PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json")


def _operation(res: Resource, action: str, ref: str, params: list[Obj], op_id: str,
               body_types: tuple[str, ...] = ()) -> Obj:
    op: Obj = {
        "operationId": op_id,
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {
            "application/json": {"schema": {"$ref": REF + ref}}}},
            "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": res.group, "version": res.version,
                                            "kind": res.kind},
    }
    if body_types:
        op["requestBody"] = {"required": True, "content": {
            t: {"schema": {"$ref": REF + ref}} for t in body_types}}
    return op


def resource_paths(res: Resource) -> dict[str, Obj]:
    """The paths and operations of one resource."""
    root = f"/apis/{res.group}/{res.version}" if res.group else "/api/v1"
    try:
        ref = schema.root_type(res.api_version, res.kind)
    except KeyError:
        ref = res.kind
    try:
        list_ref = schema.root_type(res.api_version, res.list_kind)
    except KeyError:
        list_ref = ref
    ns_params = [_param("namespace", "path", True)] if res.namespaced else []
    name_param = [_param("name", "path", True)]
    prefix = f"{root}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else \
        f"{root}/{res.plural}"
    tag = res.kind
    verbs = set(res.verbs)
    coll: Obj = {}
    if "list" in verbs:
        coll["get"] = _operation(res, "list", list_ref, LIST_PARAMS, f"list{tag}")
    if "create" in verbs:
        coll["post"] = _operation(res, "post", ref, WRITE_PARAMS, f"create{tag}",
                                  ("application/json", "application/yaml"))
    if "deletecollection" in verbs:
        coll["delete"] = _operation(res, "deletecollection", "Status", LIST_PARAMS,
                                    f"deleteCollection{tag}")
    item: Obj = {}
    if "get" in verbs:
        item["get"] = _operation(res, "get", ref, [], f"read{tag}")
    if "update" in verbs:
        item["put"] = _operation(res, "put", ref, WRITE_PARAMS, f"replace{tag}",
                                 ("application/json",))
    if "patch" in verbs:
        item["patch"] = _operation(res, "patch", ref, WRITE_PARAMS, f"patch{tag}", PATCH_TYPES)
    if "delete" in verbs:
        item["delete"] = _operation(res, "delete", ref, [_param("gracePeriodSeconds"),
                                                         _param("propagationPolicy"),
                                                         _param("dryRun")], f"delete{tag}")
    paths: dict[str, Obj] = {}
    if coll:
        paths[prefix] = {"parameters": ns_params, **coll}
    if item:
        paths[prefix + "/{name}"] = {"parameters": ns_params + name_param, **item}
    if "status" in res.subresources:
        paths[prefix + "/{name}/status"] = {
            "parameters": ns_params + name_param,
            "get": _operation(res, "get", ref, [], f"read{tag}Status"),
            "put": _operation(res, "put", ref, WRITE_PARAMS, f"replace{tag}Status",
                              ("application/json",)),
            "patch": _operation(res, "patch", ref, WRITE_PARAMS, f"patch{tag}Status",
                                PATCH_TYPES),
        }
    if res.namespaced and "list" in verbs:
        paths[f"{root}/{res.plural}"] = {
            "get": _operation(res, "list", list_ref, LIST_PARAMS, f"list{tag}ForAllNamespaces")}
    return paths


def group_version_document(group_version: str) -> Obj | None:
    resources = groups().get(group_version)
    if resources is None:
        return None
    paths: dict[str, Obj] = {}
    for res in resources:
        paths.update(resource_paths(res))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.31.0"},
        "paths": paths,
        "components": {"schemas": definition_schemas(), "securitySchemes": {
            "BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}}},
    }


def doc_path(group_version: str) -> str:
    return f"apis/{group_version}" if "/" in group_version else f"api/{group_version}"


@cache
def documents() -> dict[str, bytes]:
    """`api/v1` -> document bytes, for every served group-version (built once)."""
    out: dict[str, bytes] = {}
    for gv in groups():
        doc = group_version_document(gv)
        if doc is not None:
            out[doc_path(gv)] = dumps(doc)
    return out


def index() -> Obj:
    return {"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash="
                             f"{hashlib.sha512(body).hexdigest()[:32].upper()}"}
                      for path, body in documents().items()}}


async def index_handler(request: web.Request) -> web.StreamResponse:
    return web.Response(body=dumps(index()), content_type="application/json")


async def document_handler(request: web.Request) -> web.StreamResponse:
    body = documents().get(request.match_info["path"].strip("/"))
    if body is None:
        raise not_found_path(request.path)
    return web.Response(body=body, content_type="application/json",
                        headers={"Cache-Control": "public, immutable"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi/v3", index_handler)
    app.router.add_get("/openapi/v3/", index_handler)
    app.router.add_get("/openapi/v3/{path:.+}", document_handler)
