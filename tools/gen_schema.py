"""Generate berth/api/schema_data.json from the official Kubernetes client's models.

The kubernetes Python client is generated from Kubernetes' OpenAPI document, so
each model class still carries the API's shape: ``openapi_types`` (python
attribute -> type string), ``attribute_map`` (python attribute -> JSON name)
and pydantic field info (which fields are required). This script walks the
closure of types reachable from the kinds berth serves, translates each class
name back to its OpenAPI definition name and each type string into berth's type
mini-language (docs/architecture.md), and writes the result as JSON that
berth.api.schema loads at run time. The client is needed only here, not by berth.

Run: .venv/bin/python tools/gen_schema.py  (rewrites berth/api/schema_data.json)
"""

from __future__ import annotations

import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

import kubernetes
import kubernetes.client as k8s

OUT = Path(__file__).resolve().parent.parent / "berth" / "api" / "schema_data.json"

# (apiVersion, kind) -> client class name of each served kind and its list.
ROOTS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "Pod"): "V1Pod",
    ("v1", "Node"): "V1Node",
    ("v1", "Service"): "V1Service",
    ("v1", "Endpoints"): "V1Endpoints",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("v1", "Event"): "CoreV1Event",
    ("v1", "Binding"): "V1Binding",
    ("v1", "Status"): "V1Status",
    ("v1", "DeleteOptions"): "V1DeleteOptions",
    ("discovery.k8s.io/v1", "EndpointSlice"): "V1EndpointSlice",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("coordination.k8s.io/v1", "Lease"): "V1Lease",
}
ROOTS.update({(av, kind + "List"): cls + "List" for (av, kind), cls in list(ROOTS.items())
              if kind not in ("Binding", "Status", "DeleteOptions")})

META = {"ObjectMeta", "ListMeta", "OwnerReference", "ManagedFieldsEntry", "LabelSelector",
        "LabelSelectorRequirement", "Status", "StatusDetails", "StatusCause", "DeleteOptions",
        "Preconditions", "Condition"}
APPS = {"DaemonSet", "DaemonSetSpec", "DaemonSetStatus", "DaemonSetCondition",
        "DaemonSetUpdateStrategy", "RollingUpdateDaemonSet", "DaemonSetList"}
DISCOVERY = {"EndpointSlice", "EndpointSliceList", "Endpoint", "EndpointConditions",
             "EndpointHints", "ForZone", "ForNode"}
COORDINATION = {"Lease", "LeaseSpec", "LeaseList"}
PREFIXES = {"CoreV1": "io.k8s.api.core.v1.", "DiscoveryV1": "io.k8s.api.discovery.v1."}

# JSON names whose string (or map value) is a resource.Quantity.
QUANTITY_FIELDS = {"limits", "requests", "capacity", "allocatable", "overhead",
                   "allocatedResources", "sizeLimit", "hard", "used"}

SCALARS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
           "datetime": "time", "date": "string", "bytearray": "string", "bytes": "string"}


def definition_name(cls_name: str) -> str:
    """``V1PodSpec`` -> ``io.k8s.api.core.v1.PodSpec``."""
    for prefix, package in PREFIXES.items():
        if cls_name.startswith(prefix):
            return package + cls_name[len(prefix):]
    match = re.fullmatch(r"V1([A-Z]\w*)", cls_name)
    if not match:
        raise SystemExit(f"gen_schema: cannot place model {cls_name!r} in an API group")
    name = match.group(1)
    if name in META:
        return f"io.k8s.apimachinery.pkg.apis.meta.v1.{name}"
    if name in APPS:
        return f"io.k8s.api.apps.v1.{name}"
    if name in DISCOVERY:
        return f"io.k8s.api.discovery.v1.{name}"
    if name in COORDINATION:
        return f"io.k8s.api.coordination.v1.{name}"
    return f"io.k8s.api.core.v1.{name}"


def _leaves(annotation: Any) -> set[Any]:
    """Every plain type inside Optional/Union/Annotated wrappers."""
    args = typing.get_args(annotation)
    if not args:
        return {annotation}
    if typing.get_origin(annotation) is typing.Annotated:
        return _leaves(args[0])
    out: set[Any] = set()
    for arg in args:
        out |= _leaves(arg)
    return out


def is_int_or_string(cls: Any, attr: str) -> bool:
    leaves = _leaves(cls.model_fields[attr].annotation)
    return int in leaves and str in leaves


def translate(type_str: str, json_name: str, cls: Any, attr: str, todo: list[str]) -> str:
    """A client type string as a berth type expression; queues model classes."""
    if type_str.startswith("List[") and type_str.endswith("]"):
        return "[]" + translate(type_str[5:-1], json_name, cls, attr, todo)
    if type_str.startswith("Dict[str, ") and type_str.endswith("]"):
        return "map[" + translate(type_str[10:-1], json_name, cls, attr, todo) + "]"
    if type_str == "str" and json_name in QUANTITY_FIELDS:
        return "quantity"
    if type_str in SCALARS:
        return SCALARS[type_str]
    if type_str == "object":
        return "int-or-string" if is_int_or_string(cls, attr) else "object"
    if hasattr(k8s, type_str):
        todo.append(type_str)
        return definition_name(type_str)
    raise SystemExit(f"gen_schema: unknown type {type_str!r} at {cls.__name__}.{attr}")


def generate() -> dict[str, Any]:
    types: dict[str, dict[str, str]] = {}
    required: dict[str, list[str]] = {}
    todo = list(ROOTS.values())
    seen: set[str] = set()
    while todo:
        cls_name = todo.pop()
        if cls_name in seen:
            continue
        seen.add(cls_name)
        cls = getattr(k8s, cls_name)
        fields: dict[str, str] = {}
        for attr, type_str in cls.openapi_types.items():
            json_name = cls.attribute_map[attr]
            fields[json_name] = translate(type_str, json_name, cls, attr, todo)
        name = definition_name(cls_name)
        types[name] = dict(sorted(fields.items()))
        req = [cls.attribute_map[a] for a, f in cls.model_fields.items()
               if f.is_required() and a in cls.attribute_map]
        if req:
            required[name] = sorted(req)
    roots = {f"{av}/{kind}": definition_name(c) for (av, kind), c in ROOTS.items()}
    return {
        "source": "kubernetes python client " + getattr(kubernetes, "__version__", "?"),
        "roots": dict(sorted(roots.items())),
        "required": dict(sorted(required.items())),
        "types": dict(sorted(types.items())),
    }


def main() -> int:
    data = generate()
    OUT.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT} ({len(data['types'])} types)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
