"""The columns of each kind, as kubectl's printers show them.

Two consumers need the same cells: the server answers kubectl's
``Accept: application/json;as=Table;g=meta.k8s.io;v=v1`` with a
``meta.k8s.io/v1 Table`` and ``berth get`` renders the same Table as text.
So this package is pure:

- ``_base`` holds ``Column``, the age format and small cell helpers;
- ``pods`` the pod columns and kubectl's STATUS algorithm (``pod_status``);
- ``kinds`` the columns of the other served kinds;
- here, ``build_table(kind, objects)`` looks the kind up in ``COLUMNS`` and
  returns the Table dict, and ``render_table`` prints it as kubectl's plain
  columns (priority-1 columns only with ``wide=True``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from berth.api.tables._base import AGE, NAME, Column, Obj, human_duration, since
from berth.api.tables.kinds import (
    CONFIGMAP_COLUMNS,
    DAEMONSET_COLUMNS,
    ENDPOINTS_COLUMNS,
    ENDPOINTSLICE_COLUMNS,
    EVENT_COLUMNS,
    LEASE_COLUMNS,
    NAMESPACE_COLUMNS,
    NODE_COLUMNS,
    SECRET_COLUMNS,
    SERVICE_COLUMNS,
)
from berth.api.tables.pods import POD_COLUMNS, PodSummary, pod_status, summarize_pod

__all__ = [
    "COLUMNS",
    "Column",
    "PodSummary",
    "build_table",
    "columns_for",
    "human_duration",
    "pod_status",
    "render_table",
    "since",
    "summarize_pod",
]

COLUMNS: dict[str, list[Column]] = {
    "Pod": POD_COLUMNS,
    "Node": NODE_COLUMNS,
    "Service": SERVICE_COLUMNS,
    "EndpointSlice": ENDPOINTSLICE_COLUMNS,
    "Endpoints": ENDPOINTS_COLUMNS,
    "DaemonSet": DAEMONSET_COLUMNS,
    "Namespace": NAMESPACE_COLUMNS,
    "ConfigMap": CONFIGMAP_COLUMNS,
    "Secret": SECRET_COLUMNS,
    "Event": EVENT_COLUMNS,
    "Lease": LEASE_COLUMNS,
}
DEFAULT_COLUMNS = [NAME, AGE]


def columns_for(kind: str) -> list[Column]:
    """The columns of ``kind``; NAME and AGE for kinds without a printer."""
    return COLUMNS.get(kind, DEFAULT_COLUMNS)


def _row_object(obj: Obj, include_object: str) -> Obj | None:
    if include_object == "Object":
        return obj
    if include_object == "None":
        return None
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def build_table(
    kind: str,
    objects: Iterable[Obj],
    *,
    now: datetime | None = None,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
) -> Obj:
    """A ``meta.k8s.io/v1 Table`` of ``objects``, all columns (wide ones have priority 1).

    ``include_object`` is the ``includeObject`` query parameter: ``Metadata``
    (kubectl's default), ``Object`` or ``None``.
    """
    now = now or datetime.now(UTC)
    columns = columns_for(kind)
    rows = []
    for obj in objects:
        row: Obj = {"cells": [c.cell(obj, now) for c in columns]}
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    meta: Obj = {"resourceVersion": resource_version} if resource_version else {}
    if continue_token:
        meta["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [
            {
                "name": c.name,
                "type": c.type,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            }
            for c in columns
        ],
        "rows": rows,
    }


def table_rows(table: Obj, *, wide: bool = False, namespace_column: bool = False,
               headers: bool = True) -> list[list[str]]:
    """The cells kubectl would print for ``table``, headers first, as strings."""
    keep = [i for i, c in enumerate(table["columnDefinitions"]) if wide or c["priority"] == 0]
    out: list[list[str]] = []
    if headers:
        head = [str(table["columnDefinitions"][i]["name"]).upper() for i in keep]
        out.append((["NAMESPACE"] if namespace_column else []) + head)
    for row in table["rows"]:
        cells = [str(row["cells"][i]) for i in keep]
        if namespace_column:
            ns = (row.get("object") or {}).get("metadata", {}).get("namespace", "")
            cells.insert(0, str(ns))
        out.append(cells)
    return out


def align(lines: list[list[str]], widths: list[int] | None = None) -> list[str]:
    """Left-align cells in columns three spaces apart, like kubectl's tabwriter."""
    if not lines:
        return []
    widths = widths or [max(len(r[i]) for r in lines) for i in range(len(lines[0]))]
    text = []
    for row in lines:
        padded = [cell.ljust(widths[i] + 3) for i, cell in enumerate(row[:-1])]
        text.append(("".join(padded) + row[-1]).rstrip())
    return text


def render_table(table: Obj, *, wide: bool = False, namespace_column: bool = False,
                 headers: bool = True) -> list[str]:
    """``table`` as kubectl prints it in a terminal or a pipe."""
    rows = table_rows(table, wide=wide, namespace_column=namespace_column, headers=headers)
    return align(rows)
