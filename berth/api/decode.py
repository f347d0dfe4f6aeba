"""Strict decoding of manifests and request bodies.

Two steps, as Kubernetes' strict field validation: first the text becomes
JSON-shaped dicts (``decode_json`` / ``decode_yaml``, which raise DecodeError
naming the source, line and column), then ``unknown_fields`` walks each object
against the schema and reports every field the kind does not have and every
value of the wrong JSON type, with full paths (``spec.containers[0].imagee``).
``suggest_field`` finds the closest known sibling for a did-you-mean hint.

YAML is read as sigs.k8s.io/yaml reads it: YAML 1.1 scalars, but timestamps
stay strings and map keys become strings, so the result is exactly JSON.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from berth.api import schema
from berth.api.errors import INVALID, UNKNOWN, DecodeError, FieldError
from berth.api.resources import Obj

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader without the timestamp resolver (times stay RFC 3339 strings) that
    refuses duplicate mapping keys, as sigs.k8s.io/yaml's strict mode does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable keys are reported by the base constructor
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f'mapping key "{key}" already defined at line {seen[key]}',
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return result


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Document:
    """One decoded object and the 1-based line its document starts on."""

    obj: Obj
    line: int


def _stringify_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key_text(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v) for v in value]
    return value


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def decode_json(body: bytes | str, source: str = "<body>") -> list[Obj]:
    """Parse a JSON body: one object, or a top-level array of objects."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise DecodeError(source, None, None, f"body is not UTF-8: {exc.reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(source, exc.lineno, exc.colno, exc.msg) from None
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            raise DecodeError(source, 1, 1, f"expected a JSON object, got {json_type(item)}")
    return items


def decode_yaml_documents(text: str | bytes, source: str = "<stdin>") -> list[Document]:
    """Parse multi-document YAML; empty documents are skipped."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(source, None, None, f"file is not UTF-8: {exc.reason}") from None
    docs: list[Document] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            data = loader.construct_document(node)
            line = node.start_mark.line + 1
            if data is None:
                continue
            if not isinstance(data, dict):
                raise DecodeError(source, line, node.start_mark.column + 1,
                                  f"expected a mapping (an object), got {json_type(data)}")
            docs.append(Document(_stringify_keys(data), line))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise DecodeError(source, line, column, problem) from None
    except yaml.YAMLError as exc:
        raise DecodeError(source, None, None, str(exc)) from None
    finally:
        loader.dispose()
    return docs


def decode_yaml(text: str | bytes, source: str = "<stdin>") -> list[Obj]:
    """Parse multi-document YAML into objects (empty documents skipped)."""
    return [doc.obj for doc in decode_yaml_documents(text, source)]


def expand_lists(objs: list[Obj]) -> list[Obj]:
    """Replace ``kind: List`` (and ``*List``) objects by their items, as kubectl does."""
    out: list[Obj] = []
    for obj in objs:
        kind = obj.get("kind")
        items = obj.get("items")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            out.extend(expand_lists([i for i in items if isinstance(i, dict)]))
        else:
            out.append(obj)
    return out


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fits(value: Any, type_expr: str) -> bool:
    expected = schema.json_kind(type_expr)
    actual = json_type(value)
    if actual == "null" or expected == actual:
        return True
    if type_expr in ("quantity", "int-or-string"):
        return actual in ("string", "integer") or (type_expr == "quantity" and actual == "number")
    if expected == "number":
        return actual == "integer"
    if expected == "integer" and isinstance(value, float):
        return value.is_integer()
    return False


def unknown_fields(obj: Obj) -> list[FieldError]:
    """Every unknown field and every wrongly typed value of ``obj``, in document order.

    Objects of kinds without a schema give no errors (resolving the kind is the
    caller's job).
    """
    try:
        root = schema.root_type(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    except KeyError:
        return []
    return check_type(obj, root)


def check_type(value: Any, type_name: str) -> list[FieldError]:
    """unknown_fields for a value of a given definition (e.g. a PodSpec)."""
    errors: list[FieldError] = []
    for node in schema.walk(value, type_name):
        path = schema.format_path(node.path)
        if not node.type:
            errors.append(FieldError(UNKNOWN, path))
        elif not _fits(node.value, node.type):
            expected = schema.json_kind(node.type)
            if node.type == "int-or-string":
                expected = "integer,string"
            actual = json_type(node.value)
            errors.append(FieldError(
                INVALID, path, actual,
                f"{path or 'body'} in body must be of type {expected}: {json.dumps(actual)}"))
    return errors


_STEP = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def parse_path(path: str) -> list[str | int]:
    """``spec.containers[0].image`` -> ["spec", "containers", 0, "image"]."""
    steps: list[str | int] = []
    for name, index in _STEP.findall(path):
        if name:
            steps.append(name)
        elif index.isdigit():
            steps.append(int(index))
        else:
            steps.append(schema.MapKey(index))
    return steps


def suggest_field(path: str, where: Obj | str) -> str | None:
    """The closest known sibling of an unknown field, as a full path, or None.

    ``where`` is the object the path is in (its apiVersion/kind give the schema)
    or a definition name. ``suggest_field("spec.container", pod)`` ->
    ``"spec.containers"``.
    """
    if isinstance(where, str):
        root = where
    else:
        try:
            root = schema.root_type(str(where.get("apiVersion", "")), str(where.get("kind", "")))
        except KeyError:
            return None
    steps = parse_path(path)
    if not steps or not isinstance(steps[-1], str):
        return None
    parent = schema.type_at(root, steps[:-1])
    if parent is None:
        return None
    known = list(schema.fields(parent))
    matches = difflib.get_close_matches(steps[-1], known, n=1, cutoff=0.6)
    if not matches:
        lowered = {name.lower(): name for name in known}
        if steps[-1].lower() in lowered:
            matches = [lowered[steps[-1].lower()]]
    if not matches:
        return None
    return schema.format_path([*steps[:-1], matches[0]])
