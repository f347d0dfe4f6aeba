"""Selector semantics of lists and watches, as pure functions.

A backend turns each stored change into a `Change` (the object's text after
the change and before it) and asks `plan_event` what, if anything, a watcher
with a given `Filter` should see. Kubernetes' rules: an object that starts
matching is ADDED, one that stops matching is DELETED (carrying its last
matching state, stamped with the change's revision), a deletion of a matching
object is DELETED, anything else that matches before and after is MODIFIED.
"""

from __future__ import annotations

from dataclasses import dataclass

from berth.store.base import EventType, FieldMatcher, LabelMatcher, Obj, WatchEvent
from berth.store.codec import loads, with_rv


@dataclass(frozen=True)
class Change:
    """One write as the store recorded it.

    ``data`` is the stored text after the change; for DELETED the last state.
    ``prev`` is the state before (None for ADDED, or when the backend no
    longer has it). Events carry ``rv`` as the object's resourceVersion
    (for DELETED, the revision of the deletion), whatever the text holds.
    """

    type: EventType
    rv: int
    namespace: str
    name: str
    data: str | bytes
    prev: str | bytes | None = None


@dataclass(frozen=True)
class Filter:
    """What a list or watch asked for; namespace None means every namespace."""

    namespace: str | None = None
    label_selector: LabelMatcher | None = None
    field_selector: FieldMatcher | None = None

    @property
    def selects_all(self) -> bool:
        return self.label_selector is None and self.field_selector is None

    def matches(self, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace is not None and (meta.get("namespace") or "") != self.namespace:
            return False
        if self.label_selector is not None:
            labels = meta.get("labels") or {}
            if not self.label_selector.matches(labels):
                return False
        return self.field_selector is None or self.field_selector.matches(obj)


def plan_event(change: Change, flt: Filter) -> WatchEvent | None:
    """The event a watcher with ``flt`` sees for ``change``, or None."""
    if flt.namespace is not None and change.namespace != flt.namespace:
        return None
    rv = str(change.rv)
    obj = with_rv(loads(change.data), change.rv)
    if flt.selects_all:
        return WatchEvent(change.type, obj, rv)
    now = flt.matches(obj)
    if change.type == "ADDED":
        return WatchEvent("ADDED", obj, rv) if now else None
    if change.type == "DELETED":
        return WatchEvent("DELETED", obj, rv) if now else None
    before_obj = loads(change.prev) if change.prev is not None else None
    before = before_obj is not None and flt.matches(before_obj)
    if now and before:
        return WatchEvent("MODIFIED", obj, rv)
    if now:
        return WatchEvent("ADDED", obj, rv)
    if before and before_obj is not None:
        return WatchEvent("DELETED", with_rv(before_obj, change.rv), rv)
    return None
