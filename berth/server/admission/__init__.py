"""Admission: what the API server does to an object between validation and the store.

Some writes mean more than "store this": a Service gets a ClusterIP and
NodePorts from the cluster's ranges as it is stored, and gives them back when it
is removed. That work runs inside the server's write path, on the server's own
store, so it lives here rather than in `berth.controllers` (control loops that
reach the server through its HTTP API like any client).

`Admission` is the write path's one entry point, one per server, built at start-up
from the Service CIDR and NodePort range and held by `ServerState.admission`;
`berth.server.writes` and `berth.server.deletes` call it for every resource and it
dispatches by resource key:

- `default_update(key, old, new)`: pure defaulting of an update before
  validation (a PUT that leaves out the allocated clusterIP keeps it);
- `create(key, obj)` / `update(key, old, new)`: store the object, allocating
  what it needs first and giving it back if the store refuses;
- `removed(key, obj)`: after an object left the store, free what it held;
- `repair()`: once at start-up, before serving, bring the claims in line with
  the stored Services (a crash between a claim and its store write).

Parts: `services` (the Service allocator), `claims` (claim objects in the
store), `ranges` (pure range arithmetic). docs/controllers.md ("Service
ClusterIPs and NodePorts") describes the behaviour.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from berth.server.admission.ranges import Network
from berth.server.admission.services import ServiceAllocator, prepare_service_update
from berth.store.base import Store

Obj = dict[str, Any]
log = logging.getLogger(__name__)


class Admission:
    """The write path's hooks for one server and its store (see the module docstring)."""

    def __init__(self, store: Store, service_cidr: Network,
                 node_port_range: tuple[int, int]) -> None:
        self.store = store
        self.services = ServiceAllocator(store, service_cidr, node_port_range)

    def default_update(self, key: str, old: Obj, new: Obj) -> None:
        """Fill what an update left out but admission gave the object (pure, in place)."""
        if key == "services":
            prepare_service_update(old, new)

    async def create(self, key: str, obj: Obj) -> Obj:
        """Store a new object, with what admission gives it."""
        if key == "services":
            return await self.services.create(obj)
        return await self.store.create(key, obj)

    async def update(self, key: str, old: Obj, new: Obj) -> Obj:
        """Store `new` over `old`, claiming what it adds and releasing what it dropped."""
        if key == "services":
            return await self.services.update(old, new)
        return await self.store.update(key, new)

    async def removed(self, key: str, obj: Obj) -> None:
        """Free what `obj`, just removed from the store, held."""
        if key == "services":
            await self.services.release(obj)

    async def repair(self, now: datetime.datetime | None = None) -> int:
        """Bring the claims in line with the stored objects; the number of changes."""
        changes = await self.services.repair(now)
        if changes:
            log.info("service allocators: repaired %d claims", changes)
        return changes


__all__ = ["Admission", "ServiceAllocator"]
