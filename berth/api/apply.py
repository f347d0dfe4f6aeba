"""The patch ``berth apply`` sends: kubectl's client-side apply, as pure functions.

kubectl remembers what it applied last in the annotation
``kubectl.kubernetes.io/last-applied-configuration``. On the next apply it
compares three objects: the last applied configuration (*original*), the new
manifest (*modified*) and the live object (*current*). The strategic merge
patch it sends

- sets every field of *modified* that differs from *current*,
- deletes (``null``, or ``{"$patch": "delete"}`` for keyed list items) every
  field that was in *original* but is gone from *modified*,
- and leaves alone what only the server or other writers set (status, node
  name, defaults), because those were never in *original*.

Lists of objects merge item by item on their merge key (``name`` for
containers, ``containerPort`` for container ports, ...) as ``berth.api.patch``'s
``MERGE_KEYS`` table says, walking the kind's schema (``berth.api.schema``) to
know which type each field has; other lists are replaced whole. ``plan_apply`` is the entry
point: it says whether to create, patch or do nothing, and with what body.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Literal

from berth.api import schema
from berth.api.patch import MERGE_KEYS, PatchMeta

Obj = dict[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

@dataclass(frozen=True)
class ApplyPlan:
    """What to send: ``create`` the body, ``patch`` with the body, or nothing."""

    action: Literal["create", "patch", "unchanged"]
    body: Obj


def with_last_applied(obj: Obj) -> Obj:
    """A copy of ``obj`` carrying itself (without the annotation) as last-applied.

    The annotation's text is what kubectl writes (keys sorted, an empty
    ``annotations`` map kept, a trailing newline), so kubectl and berth see
    each other's applies as unchanged.
    """
    out = copy.deepcopy(obj)
    annotations = out.setdefault("metadata", {}).setdefault("annotations", {})
    annotations.pop(LAST_APPLIED, None)
    text = json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    annotations[LAST_APPLIED] = text + "\n"
    return out


def last_applied(live: Obj) -> Obj:
    """The configuration last applied to ``live``; empty when there is none or it is corrupt."""
    text = (live.get("metadata", {}).get("annotations") or {}).get(LAST_APPLIED)
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def plan_apply(desired: Obj, live: Obj | None) -> ApplyPlan:
    """Decide how to bring ``live`` (None when absent) to the manifest ``desired``."""
    modified = with_last_applied(desired)
    if live is None:
        return ApplyPlan("create", modified)
    patch = three_way_patch(last_applied(live), modified, live)
    return ApplyPlan("patch", patch) if patch else ApplyPlan("unchanged", {})


def three_way_patch(original: Obj, modified: Obj, current: Obj) -> Obj:
    """The strategic merge patch taking ``current`` to ``modified``, deleting what
    ``original`` had and ``modified`` dropped."""
    try:
        root = schema.root_type(str(modified.get("apiVersion")), str(modified.get("kind")))
    except KeyError:
        root = ""
    return _diff_maps(original, modified, current, root)


def _child_type(type_name: str, key: str) -> tuple[str, PatchMeta | None]:
    """The type of field ``key`` of ``type_name`` (element type for lists and maps)."""
    expr = schema.fields(type_name).get(key, "") if type_name else ""
    meta = MERGE_KEYS.get(type_name, {}).get(key)
    return schema.element_type(expr) or expr, meta


def _diff_maps(original: Obj, modified: Obj, current: Obj, type_name: str) -> Obj:
    patch: Obj = {}
    for key, want in modified.items():
        if key not in current:
            patch[key] = copy.deepcopy(want)
            continue
        have, was = current[key], original.get(key)
        child, meta = _child_type(type_name, key)
        if isinstance(want, dict) and isinstance(have, dict):
            sub = _diff_maps(was if isinstance(was, dict) else {}, want, have, child)
            if sub:
                patch[key] = sub
        elif isinstance(want, list) and isinstance(have, list) and meta is not None:
            was_list = was if isinstance(was, list) else []
            if not meta.merge_key:
                patch.update(_diff_primitive_list(key, was_list, want, have))
            elif _keyed(meta.merge_key, [*want, *have]):
                items = _diff_keyed_list(meta.merge_key, was_list, want, have, child)
                if items:
                    patch[key] = items
            elif want != have:
                patch[key] = copy.deepcopy(want)
        elif want != have:
            patch[key] = copy.deepcopy(want)
    for key in original:
        if key not in modified and key in current:
            patch[key] = None
    return patch


def _keyed(key: str, items: list[Any]) -> bool:
    return all(isinstance(item, dict) and key in item for item in items)


def _diff_primitive_list(field: str, original: list[Any], modified: list[Any],
                         current: list[Any]) -> Obj:
    """A merging list of scalars (finalizers): add what is new, delete what was dropped."""
    patch: Obj = {}
    added = [v for v in modified if v not in current]
    if added:
        patch[field] = added
    dropped = [v for v in original if v not in modified and v in current]
    if dropped:
        patch[f"$deleteFromPrimitiveList/{field}"] = dropped
    return patch


def _diff_keyed_list(key: str, original: list[Any], modified: list[Any], current: list[Any],
                     item_type: str) -> list[Any]:
    now = {item[key]: item for item in current}
    was = {item[key]: item for item in original if isinstance(item, dict) and key in item}
    wanted = {item[key] for item in modified}
    items: list[Any] = []
    for item in modified:
        have = now.get(item[key])
        if have is None:
            items.append(copy.deepcopy(item))
            continue
        sub = _diff_maps(was.get(item[key], {}), item, have, item_type)
        if sub:
            items.append({key: item[key], **sub})
    for value in was:
        if value not in wanted and value in now:
            items.append({key: value, "$patch": "delete"})
    return items
