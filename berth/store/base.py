"""The Store protocol and the values it passes around.

Everything above `berth.store` (the API server, controllers in the server
process) sees the datastore only through `Store`: a key-value store of
Kubernetes JSON objects keyed by ``(resource, namespace, name)`` with one
cluster-wide increasing revision, optimistic concurrency, paginated lists and
watches. `sqlite.SQLiteStore` and `etcd.EtcdStore` implement it; one shared
test suite runs against both.

Selectors are accepted structurally (`LabelMatcher`, `FieldMatcher`): any
object with a ``matches`` method works, in practice `berth.api.selectors`'
``LabelSelector`` and ``FieldSelector``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Obj = dict[str, Any]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]


class LabelMatcher(Protocol):
    """A label selector: ``matches(labels)``."""

    def matches(self, labels: Mapping[str, str]) -> bool: ...


class FieldMatcher(Protocol):
    """A field selector: ``matches(obj)``."""

    def matches(self, obj: Obj) -> bool: ...


@dataclass(frozen=True)
class ListResult:
    """One page of a list.

    ``resource_version`` is the revision the whole (paginated) list is a
    snapshot of; ``continue_token`` is None on the last page.
    """

    items: list[Obj]
    resource_version: str
    continue_token: str | None = None


@dataclass(frozen=True)
class WatchEvent:
    """One change seen by a watch, after selector filtering.

    ``object`` belongs to the receiver (each watcher gets its own copy);
    ``resource_version`` is the revision of the change (for DELETED, the
    revision of the deletion, also set in the object's metadata).
    """

    type: EventType
    object: Obj
    resource_version: str


class Store(Protocol):
    """The datastore: see docs/architecture.md ("berth.store contract")."""

    async def create(self, resource: str, obj: Obj) -> Obj: ...

    async def get(self, resource: str, namespace: str, name: str) -> Obj: ...

    async def update(self, resource: str, obj: Obj) -> Obj: ...

    async def delete(self, resource: str, namespace: str, name: str,
                     resource_version: str | None = None) -> Obj: ...

    async def list(self, resource: str, namespace: str | None = None, *,
                   label_selector: LabelMatcher | None = None,
                   field_selector: FieldMatcher | None = None,
                   limit: int = 0, continue_token: str | None = None) -> ListResult: ...

    def watch(self, resource: str, namespace: str | None = None, *,
              resource_version: str | None = None,
              label_selector: LabelMatcher | None = None,
              field_selector: FieldMatcher | None = None) -> AsyncIterator[WatchEvent]: ...

    async def current_revision(self) -> int: ...

    async def compact(self, revision: int) -> None: ...

    async def close(self) -> None: ...
