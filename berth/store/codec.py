"""Pure helpers both backends share: identity, resourceVersion and continue tokens.

Objects are stored as compact JSON text with ``metadata.resourceVersion``
already set to the revision of the write, so reading an object back is one
``json.loads``. Continue tokens are opaque to clients (base64 of a small JSON
document, like Kubernetes'): the snapshot revision of the first page and the
last key returned, so the next page starts after it at the same revision.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from berth.api.errors import BadRequest
from berth.store.base import Obj
from berth.store.errors import bad_continue, bad_resource_version

_TOKEN_VERSION = "berth.store/v1"


def identity(obj: Any) -> tuple[str, str]:
    """(namespace, name) of an object; a clear BadRequest if it has none."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        raise BadRequest("metadata: Required value: the object has no metadata")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest("metadata.name: Required value: name is required")
    namespace = meta.get("namespace") or ""
    if not isinstance(namespace, str):
        raise BadRequest("metadata.namespace: Invalid value: must be a string")
    return namespace, name


def parse_rv(value: Any) -> int | None:
    """A resourceVersion string as an int; None/"" mean unset, "0" means 0."""
    if value is None or value == "":
        return None
    try:
        rv = int(str(value))
    except ValueError:
        raise bad_resource_version(str(value)) from None
    if rv < 0:
        raise bad_resource_version(str(value))
    return rv


def object_rv(obj: Obj) -> int | None:
    """The resourceVersion an object carries (None when unset)."""
    return parse_rv((obj.get("metadata") or {}).get("resourceVersion"))


def with_rv(obj: Obj, rv: int) -> Obj:
    """A shallow copy of obj whose metadata.resourceVersion is ``rv``."""
    meta = dict(obj.get("metadata") or {})
    meta["resourceVersion"] = str(rv)
    return {**obj, "metadata": meta}


def dumps(obj: Obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Obj:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("stored value is not a JSON object")
    return value


def restamp(text: str | bytes, rv: int) -> str:
    """Stored text with its resourceVersion replaced (a deleted object's last state)."""
    return dumps(with_rv(loads(text), rv))


def encode_continue(rv: int, namespace: str, name: str) -> str:
    doc = {"v": _TOKEN_VERSION, "rv": rv, "ns": namespace, "name": name}
    return base64.urlsafe_b64encode(dumps(doc).encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str, str]:
    """(revision, namespace, name) of a token made by encode_continue."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError):
        raise bad_continue("not base64-encoded JSON") from None
    if not isinstance(doc, dict) or doc.get("v") != _TOKEN_VERSION:
        raise bad_continue("unknown token version")
    rv, ns, name = doc.get("rv"), doc.get("ns"), doc.get("name")
    if not isinstance(rv, int) or not isinstance(ns, str) or not isinstance(name, str):
        raise bad_continue("missing rv, ns or name")
    return rv, ns, name
