"""Small helpers over ``metadata`` shared by every layer.

Objects are plain dicts, so typed access to the common metadata lives here:
identity (``object_key``), fresh UIDs and RFC 3339 timestamps in the exact form
Kubernetes writes (``2024-05-01T12:00:00Z``, seconds precision; MicroTime with
microseconds), and owner references. Time and randomness are injectable so
callers can test with fixed values.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from berth.api.resources import Obj

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def new_uid() -> str:
    """A random UUID, as metadata.uid."""
    return str(uuid.uuid4())


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC at seconds precision (metav1.Time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds (metav1.MicroTime)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now(clock: Clock = _utcnow) -> str:
    """The current time as metav1.Time text."""
    return format_time(clock())


def now_micro(clock: Clock = _utcnow) -> str:
    """The current time as metav1.MicroTime text (Lease renewTime, Event eventTime)."""
    return format_micro_time(clock())


def parse_time(text: str) -> datetime:
    """Parse RFC 3339 text (``Z`` or an offset, optional fraction); ValueError if bad."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return moment.astimezone(UTC)


def metadata(obj: Obj) -> dict[str, Any]:
    """The object's metadata dict, created empty if missing."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
        obj["metadata"] = meta
    return meta


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def namespace_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def labels_of(obj: Obj) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def object_key(obj: Obj) -> tuple[str, str]:
    """(namespace, name); namespace "" for cluster-scoped objects."""
    return namespace_of(obj), name_of(obj)


def display_name(obj: Obj) -> str:
    """``namespace/name`` or ``name``, for logs and messages."""
    namespace, name = object_key(obj)
    return f"{namespace}/{name}" if namespace else name


def owner_reference(owner: Obj, controller: bool = True) -> dict[str, Any]:
    """An ownerReference pointing at ``owner`` (controller and blockOwnerDeletion set)."""
    meta = owner.get("metadata") or {}
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Obj) -> dict[str, Any] | None:
    """The ownerReference with controller=true, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None
