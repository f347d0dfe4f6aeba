"""Services and EndpointSlices kept in step by two informers, handed out as snapshots.

``ServiceWatch.run`` runs one ``berth.client.informer.Informer`` per resource
(all namespaces; list, then watch, resumed or listed afresh as the informer
does).  Every change bumps a version number; each consumer iterates
``snapshots()`` and gets the latest ``(services, endpointslices)`` once both
lists arrived and after every change, with bursts coalesced (a slow consumer
skips intermediate states, never the last one).  One watch can feed several
consumers, e.g. the proxy and cluster DNS of one node process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from berth.api.resources import Resource, by_plural
from berth.client import Client
from berth.client.informer import Informer
from berth.client.retry import Backoff

Obj = dict[str, Any]
Snapshot = tuple[list[Obj], list[Obj]]
SERVICES = by_plural("", "services")
ENDPOINTSLICES = by_plural("discovery.k8s.io", "endpointslices")


def _resource(resource: Resource | None) -> Resource:
    assert resource is not None, "services/endpointslices missing from berth.api.resources"
    return resource


class ServiceWatch:
    """The cluster's Services and EndpointSlices, as this process last heard of them."""

    def __init__(self, client: Client, *, retry_seconds: float = 1.0,
                 watch_seconds: int = 300) -> None:
        self.client = client
        self.services = Informer(client, _resource(SERVICES), watch_seconds=watch_seconds,
                                 backoff=Backoff(initial=retry_seconds))
        self.endpointslices = Informer(client, _resource(ENDPOINTSLICES),
                                       watch_seconds=watch_seconds,
                                       backoff=Backoff(initial=retry_seconds))
        self._version = 0
        self._wakers: set[asyncio.Event] = set()
        self.services.subscribe(self._bump)
        self.endpointslices.subscribe(self._bump)

    async def run(self) -> None:
        """Follow both resources until cancelled."""
        await asyncio.gather(self.services.run(), self.endpointslices.run())

    def _bump(self) -> None:
        self._version += 1
        for waker in self._wakers:
            waker.set()

    def _synced(self) -> bool:
        return self.services.synced.is_set() and self.endpointslices.synced.is_set()

    async def snapshots(self) -> AsyncIterator[Snapshot]:
        """Yield the current objects once both lists arrived, then after every change."""
        waker = asyncio.Event()
        self._wakers.add(waker)
        seen = 0
        try:
            while True:
                while self._version == seen or not self._synced():
                    await waker.wait()
                    waker.clear()
                seen = self._version
                yield self.services.items(), self.endpointslices.items()
        finally:
            self._wakers.discard(waker)
