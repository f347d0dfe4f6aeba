"""Reading request bodies: size limit, media type, strict decoding, kind checks.

`read_object` is the one path from bytes to an object for POST and PUT: it answers
413 for an oversized body, 415 for a media type the server does not decode, 400
with line and column for malformed JSON/YAML (berth.api.decode), 400 "strict
decoding error: unknown field ..." for fields the schema lacks (berth is always
strict, as kubectl's default fieldValidation=Strict), and 400 when apiVersion/kind
do not match the URL. `read_json` is the loose variant for patches and
DeleteOptions.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from berth.api import decode
from berth.api.errors import BadRequest, RequestEntityTooLarge
from berth.api.resources import Resource
from berth.server.negotiate import BODY_TYPES, JSON, check_body_type

Obj = dict[str, Any]


async def read_bytes(request: web.Request, limit: int) -> bytes:
    """The raw body; RequestEntityTooLarge beyond `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"Request entity too large: limit is {limit}")
    try:
        data = await request.content.read(limit + 1)
    except ValueError as exc:  # aiohttp's own client_max_size guard
        raise RequestEntityTooLarge(f"Request entity too large: limit is {limit}") from exc
    if len(data) > limit:
        raise RequestEntityTooLarge(f"Request entity too large: limit is {limit}")
    if not request.content.at_eof():
        rest = await request.content.read(1)
        if rest:
            raise RequestEntityTooLarge(f"Request entity too large: limit is {limit}")
    return data


def decode_body(data: bytes, media: str, source: str) -> Any:
    """Decode JSON or YAML into one value; DecodeError (400) naming line and column."""
    docs = decode.decode_json(data, source) if media == JSON else decode.decode_yaml(data, source)
    if len(docs) != 1:
        raise BadRequest(f"{source}: expected exactly one object, found {len(docs)}")
    return docs[0]


def parse_json(data: bytes, what: str) -> Any:
    """Plain JSON (patches, DeleteOptions); BadRequest naming line and column."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"{what}: invalid JSON at line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}") from None
    except UnicodeDecodeError:
        raise BadRequest(f"{what}: the body is not UTF-8 text") from None


def check_strict(obj: Obj) -> None:
    """400 with every unknown field, worded as Kubernetes' strict decoding error."""
    unknown = decode.unknown_fields(obj)
    if unknown:
        fields = ", ".join(e.message() for e in unknown)
        kind, version = obj.get("kind"), obj.get("apiVersion")
        raise BadRequest(f'{kind} in version "{version}" cannot be handled as a {kind}: '
                         f"strict decoding error: {fields}")


def check_kind(res: Resource, obj: Any, kind: str | None = None,
               api_version: str | None = None) -> Obj:
    """Fill in or check apiVersion/kind against what the URL addresses."""
    if not isinstance(obj, dict):
        raise BadRequest("the request body must be a JSON object")
    want_kind = kind or res.kind
    want_version = api_version or res.api_version
    got_version, got_kind = obj.get("apiVersion"), obj.get("kind")
    if got_kind not in (None, "", want_kind):
        raise BadRequest(f"the kind in the data ({got_kind}) does not match the expected "
                         f"kind ({want_kind})")
    if got_version not in (None, "", want_version):
        raise BadRequest(f"the API version in the data ({got_version}) does not match the "
                         f"expected API version ({want_version})")
    obj["apiVersion"], obj["kind"] = want_version, want_kind
    if not isinstance(obj.get("metadata", {}), dict):
        raise BadRequest("metadata: must be an object")
    return obj


async def read_object(request: web.Request, res: Resource, limit: int, *,
                      kind: str | None = None, api_version: str | None = None) -> Obj:
    """Read, decode and check the object a POST or PUT carries."""
    media = check_body_type(request.headers.get("Content-Type"), BODY_TYPES)
    data = await read_bytes(request, limit)
    obj = decode_body(data, media, "request body")
    obj = check_kind(res, obj, kind, api_version)
    check_strict(obj)
    return obj
