"""Writing responses: JSON bodies, Status objects and Tables.

Every handler ends in one of these so the wire format (compact JSON, content types,
the Table conversion kubectl asks for) is decided in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from berth.api.errors import APIError
from berth.api.resources import Resource
from berth.server.negotiate import TABLE_CONTENT_TYPE, Output

Obj = dict[str, Any]


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(obj), status=status, content_type="application/json")


def status_response(err: APIError) -> web.Response:
    return json_response(err.to_status(), status=err.code)


def success_status(details: Obj | None = None, code: int = 200) -> Obj:
    status: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                   "code": code}
    if details:
        status["details"] = details
    return status


def build_table(res: Resource, objects: Iterable[Obj], *, include_object: str = "Metadata",
                resource_version: str = "", continue_token: str = "") -> Obj:
    """A meta.k8s.io/v1 Table from berth.api.tables."""
    from berth.api.tables import build_table as api_build_table

    return api_build_table(res.kind, objects, include_object=include_object,
                           resource_version=resource_version, continue_token=continue_token)


def object_response(res: Resource, obj: Obj, output: Output, status: int = 200,
                    include_object: str = "Metadata") -> web.Response:
    """One object, as itself or as a one-row Table."""
    if output.table:
        table = build_table(res, [obj], include_object=include_object,
                            resource_version=str((obj.get("metadata") or {}).get(
                                "resourceVersion", "")))
        return web.Response(body=dumps(table), status=status,
                            headers={"Content-Type": TABLE_CONTENT_TYPE})
    return json_response(obj, status)


def with_kind(res: Resource, obj: Obj) -> Obj:
    """Objects read back carry apiVersion and kind (older writes may lack them)."""
    if obj.get("kind") != res.kind or obj.get("apiVersion") != res.api_version:
        obj = {"apiVersion": res.api_version, "kind": res.kind,
               **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}}
    return obj
