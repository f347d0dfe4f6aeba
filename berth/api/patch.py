"""Applying the three PATCH formats Kubernetes accepts, as pure functions on JSON dicts.

- `apply_merge_patch`: RFC 7386 JSON merge patch (`application/merge-patch+json`):
  maps merge, `null` deletes, everything else (lists included) replaces.
- `apply_strategic_merge_patch`: Kubernetes' strategic merge patch
  (`application/strategic-merge-patch+json`, what `kubectl apply` sends). Lists whose
  field carries a patch strategy in `MERGE_KEYS` merge element by element on their merge
  key; the directives `$patch` (replace/delete/merge), `$setElementOrder/<field>`,
  `$deleteFromPrimitiveList/<field>` and `$retainKeys` are honoured. The type of each
  field comes from a `types` table in `berth.api.schema`'s shape
  (type name -> field -> type expression), so the walk knows which struct it is in.
- `apply_json_patch`: RFC 6902 operations with RFC 6901 pointers.

`MERGE_KEYS` is the merge-key table (OpenAPI's x-kubernetes-patch-strategy and
x-kubernetes-patch-merge-key); `berth.api.apply` and the OpenAPI document read it too.
Nothing here mutates its inputs. Bad patches raise `BadRequest` (malformed) or
`Invalid` (well-formed but not applicable), as the Kubernetes API server does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from berth.api.errors import BadRequest, Invalid

Obj = dict[str, Any]
Types = Mapping[str, Mapping[str, str]]

CORE = "io.k8s.api.core.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."


@dataclass(frozen=True)
class PatchMeta:
    """Patch strategy of one list field: 'merge' or 'merge,retainKeys', and its key."""

    strategy: str
    merge_key: str = ""  # "" for lists of primitives


_NAME = PatchMeta("merge", "name")
_CONDITIONS = PatchMeta("merge", "type")
_CONTAINER = {
    "ports": PatchMeta("merge", "containerPort"),
    "env": _NAME,
    "volumeMounts": PatchMeta("merge", "mountPath"),
    "volumeDevices": PatchMeta("merge", "devicePath"),
}

MERGE_KEYS: dict[str, dict[str, PatchMeta]] = {
    META + "ObjectMeta": {
        "finalizers": PatchMeta("merge"),
        "ownerReferences": PatchMeta("merge", "uid"),
    },
    CORE + "PodSpec": {
        "volumes": PatchMeta("merge,retainKeys", "name"),
        "initContainers": _NAME,
        "containers": _NAME,
        "ephemeralContainers": _NAME,
        "imagePullSecrets": _NAME,
        "hostAliases": PatchMeta("merge", "ip"),
    },
    CORE + "Container": dict(_CONTAINER),
    CORE + "EphemeralContainer": dict(_CONTAINER),
    CORE + "PodStatus": {
        "conditions": _CONDITIONS,
        "podIPs": PatchMeta("merge", "ip"),
        "hostIPs": PatchMeta("merge", "ip"),
    },
    CORE + "NodeSpec": {"podCIDRs": PatchMeta("merge")},
    CORE + "NodeStatus": {
        "conditions": _CONDITIONS,
        "addresses": PatchMeta("merge", "type"),
    },
    CORE + "NamespaceStatus": {"conditions": _CONDITIONS},
    CORE + "ServiceSpec": {"ports": PatchMeta("merge", "port")},
    CORE + "ServiceStatus": {"conditions": _CONDITIONS},
    "io.k8s.api.apps.v1.DaemonSetStatus": {"conditions": _CONDITIONS},
    "io.k8s.api.apps.v1.DeploymentStatus": {"conditions": _CONDITIONS},
}

_DIRECTIVE = "$patch"
_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_RETAIN = "$retainKeys"


# ------------------------------------------------------------------ merge patch


def apply_merge_patch(original: Obj, patch: Any) -> Obj:
    """RFC 7386: the document `original` becomes after `patch`."""
    if not isinstance(patch, dict):
        raise BadRequest("merge patch: the patch must be a JSON object")
    result = _merge_patch(original, patch)
    assert isinstance(result, dict)
    return result


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


# ------------------------------------------------------- strategic merge patch


def element_type(expr: str | None) -> str | None:
    """The element type of '[]T' or 'map[T]' (None for anything else)."""
    if expr is None:
        return None
    if expr.startswith("[]"):
        return expr[2:]
    if expr.startswith("map[") and expr.endswith("]"):
        return expr[4:-1]
    return None


def apply_strategic_merge_patch(original: Obj, patch: Any, type_name: str | None,
                                types: Types | None = None) -> Obj:
    """Apply a strategic merge patch to `original`, an object of OpenAPI type `type_name`."""
    if not isinstance(patch, dict):
        raise BadRequest("strategic merge patch: the patch must be a JSON object")
    if types is None:
        types = _schema_types()
    result = _merge_map(copy.deepcopy(original), patch, type_name, types)
    return result if result is not None else {}


def _schema_types() -> Types:
    try:
        from berth.api import schema
    except ImportError:  # the schema module is optional for free-form objects
        return {}
    return schema.types()


def _merge_map(original: Obj, patch: Obj, type_name: str | None, types: Types) -> Obj | None:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive not in (None, "merge"):
        raise BadRequest(f"strategic merge patch: unknown $patch directive {directive!r}")
    fields = types.get(type_name or "", {})
    metas = MERGE_KEYS.get(type_name or "", {})
    retain = patch.get(_RETAIN)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN):
            continue
        if key.startswith(_ORDER):
            if not isinstance(value, list):
                raise BadRequest(f"strategic merge patch: {key} must be a list")
            orders[key[len(_ORDER):]] = value
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            name = key[len(_DELETE_PRIMITIVE):]
            if not isinstance(value, list):
                raise BadRequest(f"strategic merge patch: {key} must be a list")
            current = original.get(name)
            if isinstance(current, list):
                original[name] = [v for v in current if v not in value]
            continue
        if value is None:
            original.pop(key, None)
            continue
        field_type = fields.get(key)
        if isinstance(value, dict):
            sub_type = field_type
            if field_type is not None and field_type.startswith("map["):
                # a map of primitives or structs: keys merge, values by the element type
                sub_type = None
            base = original.get(key)
            merged = _merge_map(base if isinstance(base, dict) else {}, value, sub_type, types)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list):
            meta = metas.get(key)
            base = original.get(key)
            if meta is not None and isinstance(base, list):
                original[key] = _merge_list(base, value, meta, element_type(field_type), types)
            else:
                original[key] = _strip_list(value, element_type(field_type), types)
        else:
            original[key] = copy.deepcopy(value)
    for name, order in orders.items():
        meta = metas.get(name)
        if isinstance(original.get(name), list):
            original[name] = _apply_order(original[name], order, meta)
    if retain is not None:
        if not isinstance(retain, list):
            raise BadRequest("strategic merge patch: $retainKeys must be a list")
        original = {k: v for k, v in original.items() if k in retain}
    return original


def _strip_list(items: list[Any], elem: str | None, types: Types) -> list[Any]:
    """A replacing list: drop directive-only elements and directives inside maps."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            if item.get(_DIRECTIVE) in ("delete", "replace") and len(item) <= 2:
                continue
            merged = _merge_map({}, item, elem, types)
            if merged is not None:
                out.append(merged)
        else:
            out.append(copy.deepcopy(item))
    return out


def _merge_list(base: list[Any], patch: list[Any], meta: PatchMeta, elem: str | None,
                types: Types) -> list[Any]:
    if any(isinstance(p, dict) and p.get(_DIRECTIVE) == "replace" for p in patch):
        return _strip_list([p for p in patch if not (
            isinstance(p, dict) and p.get(_DIRECTIVE) == "replace")], elem, types)
    if not meta.merge_key:  # a list of primitives: union, keeping order
        out = list(base)
        for item in patch:
            if isinstance(item, (dict, list)):
                raise BadRequest("strategic merge patch: expected a list of primitives")
            if item not in out:
                out.append(item)
        return out
    key = meta.merge_key
    out = list(base)
    for item in patch:
        if not isinstance(item, dict):
            raise BadRequest(f"strategic merge patch: list items must be objects with {key!r}")
        if key not in item:
            raise Invalid(f"strategic merge patch: a list item has no merge key {key!r}")
        index = next((i for i, cur in enumerate(out)
                      if isinstance(cur, dict) and cur.get(key) == item[key]), None)
        if item.get(_DIRECTIVE) == "delete":
            out = [cur for cur in out if not (isinstance(cur, dict) and cur.get(key) == item[key])]
            continue
        if index is None:
            merged = _merge_map({}, item, elem, types)
            if merged is not None:
                out.append(merged)
        else:
            merged = _merge_map(out[index], item, elem, types)
            if merged is None:
                del out[index]
            else:
                out[index] = merged
    return out


def _apply_order(items: list[Any], order: list[Any], meta: PatchMeta | None) -> list[Any]:
    """Items named in `order` come first in that order; the others keep their order."""
    key = meta.merge_key if meta else ""

    def ident(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [ident(o) for o in order]
    rank = {repr(w): i for i, w in enumerate(wanted)}
    listed = sorted((it for it in items if repr(ident(it)) in rank),
                    key=lambda it: rank[repr(ident(it))])
    rest = [it for it in items if repr(ident(it)) not in rank]
    return listed + rest


# ------------------------------------------------------------------ JSON patch


def apply_json_patch(original: Obj, operations: Any) -> Obj:
    """RFC 6902: apply each operation in turn; any failure leaves nothing applied."""
    if not isinstance(operations, list):
        raise BadRequest("json patch: the patch must be a JSON array of operations")
    doc: Any = copy.deepcopy(original)
    for index, op in enumerate(operations):
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise BadRequest(f"json patch: operation {index} has no \"op\"")
        doc = _apply_op(doc, op, index)
    if not isinstance(doc, dict):
        raise Invalid("json patch: the result is not a JSON object")
    return doc


def _pointer(text: Any, index: int, what: str = "path") -> list[str]:
    if not isinstance(text, str) or (text and not text.startswith("/")):
        raise BadRequest(f"json patch: operation {index}: {what} {text!r} is not a JSON pointer")
    if text == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in text[1:].split("/")]


def _parent(doc: Any, parts: list[str], index: int, path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        node = _child(node, part, index, path)
    return node


def _child(node: Any, part: str, index: int, path: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise Invalid(f"json patch: operation {index}: path {path!r} does not exist")


def _get(doc: Any, parts: list[str], index: int, path: str) -> Any:
    node = doc
    for part in parts:
        node = _child(node, part, index, path)
    return node


def _remove(doc: Any, parts: list[str], index: int, path: str) -> Any:
    if not parts:
        raise Invalid(f"json patch: operation {index}: cannot remove the whole document")
    parent = _parent(doc, parts, index, path)
    removed = _child(parent, parts[-1], index, path)
    if isinstance(parent, dict):
        del parent[parts[-1]]
    else:
        del parent[int(parts[-1])]
    return removed


def _add(doc: Any, parts: list[str], value: Any, index: int, path: str) -> Any:
    if not parts:
        return value
    parent = _parent(doc, parts, index, path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise Invalid(f"json patch: operation {index}: index {last!r} out of range in {path!r}")
    else:
        raise Invalid(f"json patch: operation {index}: path {path!r} does not exist")
    return doc


def _apply_op(doc: Any, op: Obj, index: int) -> Any:
    name = op["op"]
    path = op.get("path")
    parts = _pointer(path, index)
    if name in ("add", "replace", "test") and "value" not in op:
        raise BadRequest(f"json patch: operation {index} ({name}) has no \"value\"")
    if name == "add":
        return _add(doc, parts, copy.deepcopy(op["value"]), index, str(path))
    if name == "remove":
        _remove(doc, parts, index, str(path))
        return doc
    if name == "replace":
        _get(doc, parts, index, str(path))
        if not parts:
            return copy.deepcopy(op["value"])
        _remove(doc, parts, index, str(path))
        return _add(doc, parts, copy.deepcopy(op["value"]), index, str(path))
    if name in ("move", "copy"):
        source = _pointer(op.get("from"), index, "from")
        value = _get(doc, source, index, str(op.get("from")))
        if name == "move":
            _remove(doc, source, index, str(op.get("from")))
        return _add(doc, parts, copy.deepcopy(value), index, str(path))
    if name == "test":
        if _get(doc, parts, index, str(path)) != op["value"]:
            raise Invalid(f"json patch: operation {index}: test of {path!r} failed")
        return doc
    raise BadRequest(f"json patch: operation {index}: unknown op {name!r}")
