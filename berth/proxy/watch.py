"""Services and EndpointSlices kept in step by list+watch, handed out as snapshots.

``ServiceWatch.run`` lists both resources in every namespace and then watches
each from its list's resourceVersion; a watch that ends resumes from the last
version seen, a 410 Gone or a lost connection starts over with a fresh list
after a short pause.  Every change bumps a version number; each consumer
iterates ``snapshots()`` and gets the latest ``(services, endpointslices)``
after every change, with bursts coalesced (a slow consumer skips intermediate
states, never the last one).  One watch can feed several consumers, e.g. the
proxy and cluster DNS of one node agent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from berth.api.errors import APIError, Gone
from berth.api.resources import Resource, by_plural
from berth.client import Client, ClientError

Obj = dict[str, Any]
Snapshot = tuple[list[Obj], list[Obj]]
log = logging.getLogger(__name__)
SERVICES = by_plural("", "services")
ENDPOINTSLICES = by_plural("discovery.k8s.io", "endpointslices")


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class ServiceWatch:
    """The cluster's Services and EndpointSlices, as this process last heard of them."""

    def __init__(self, client: Client, *, retry_seconds: float = 1.0,
                 watch_seconds: int = 300) -> None:
        self.client = client
        self.retry_seconds = retry_seconds
        self.watch_seconds = watch_seconds
        self.caches: dict[str, dict[tuple[str, str], Obj]] = {"svc": {}, "eps": {}}
        self._synced: set[str] = set()
        self._version = 0
        self._changed = asyncio.Condition()

    async def run(self) -> None:
        """Follow both resources until cancelled."""
        await asyncio.gather(self._follow("svc", SERVICES), self._follow("eps", ENDPOINTSLICES))

    async def _bump(self) -> None:
        async with self._changed:
            self._version += 1
            self._changed.notify_all()

    async def _follow(self, name: str, resource: Resource | None) -> None:
        assert resource is not None, "services/endpointslices missing from berth.api.resources"
        cache = self.caches[name]
        while True:
            try:
                listed = await self.client.list(resource)
                cache.clear()
                cache.update({_key(o): o for o in listed.get("items") or []})
                self._synced.add(name)
                await self._bump()
                rv = str((listed.get("metadata") or {}).get("resourceVersion") or "")
                while True:
                    async for event in self.client.watch(resource, resource_version=rv,
                                                         timeout_seconds=self.watch_seconds):
                        obj = event.get("object") or {}
                        rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                        if event.get("type") == "DELETED":
                            cache.pop(_key(obj), None)
                        elif event.get("type") in ("ADDED", "MODIFIED"):
                            cache[_key(obj)] = obj
                        else:
                            continue
                        await self._bump()
            except Gone:
                log.info("watch of %s expired; listing again", resource.plural)
            except (ClientError, APIError) as exc:
                log.warning("watch of %s failed: %s", resource.plural, exc)
                await asyncio.sleep(self.retry_seconds)

    async def snapshots(self) -> AsyncIterator[Snapshot]:
        """Yield the current objects once both lists arrived, then after every change."""
        seen = [0]

        def fresh() -> bool:
            return self._version != seen[0] and len(self._synced) == 2

        while True:
            async with self._changed:
                await self._changed.wait_for(fresh)
                seen[0] = self._version
            yield list(self.caches["svc"].values()), list(self.caches["eps"].values())
