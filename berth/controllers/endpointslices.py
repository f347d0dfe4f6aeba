"""The EndpointSlice controller: keeps each Service's EndpointSlices and Endpoints in step.

It watches Services, Pods, EndpointSlices and Endpoints. A change marks the
namespace of the changed object dirty; each pass re-plans the Services of the
dirty namespaces with `endpoints_plan` (pure) and writes only the difference:
slices are created, replaced or deleted by their stable names, and the legacy
Endpoints object (named as the Service) likewise. Slices and Endpoints that
carry this controller's managed-by label but whose Service is gone (or lost its
selector) are deleted, which stands in for Kubernetes' garbage collector. The
periodic resync re-plans every namespace.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from berth.api.errors import AlreadyExists, Conflict, NotFound
from berth.api.resources import Resource, by_key
from berth.client import Client
from berth.controllers.endpoints_plan import (
    ENDPOINTS_MANAGED_BY,
    ENDPOINTS_MANAGED_BY_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    differs,
    plan_endpoints,
    plan_slices,
    wants_endpoints,
)
from berth.controllers.informer import Informer, Loop

Obj = dict[str, Any]
log = logging.getLogger(__name__)
FULL_RESYNC_SECONDS = 30.0


def _res(key: str) -> Resource:
    res = by_key(key)
    assert res is not None
    return res


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


class EndpointSliceController:
    """See the module docstring."""

    def __init__(self, client: Client, services: Informer, pods: Informer,
                 slices: Informer, endpoints: Informer) -> None:
        self.client = client
        self.services, self.pods = services, pods
        self.slices, self.endpoints = slices, endpoints
        self._dirty: set[str] | None = None  # None: every namespace
        self._last_full = 0.0
        self.loop = Loop("endpointslice-controller", self.reconcile,
                         [services, pods, slices, endpoints])
        for informer in (services, pods, slices, endpoints):
            informer.subscribe_objects(self._mark)

    def _mark(self, obj: Obj | None) -> None:
        if obj is None:
            self._dirty = None
        elif self._dirty is not None:
            self._dirty.add(_ns(obj))

    async def reconcile(self) -> None:
        if time.monotonic() - self._last_full > FULL_RESYNC_SECONDS:
            self._dirty = None
        dirty, self._dirty = self._dirty, set()
        if dirty is None:
            self._last_full = time.monotonic()
        by_ns: dict[str, list[Obj]] = {}
        for pod in self.pods.items():
            by_ns.setdefault(_ns(pod), []).append(pod)
        wanted: set[tuple[str, str]] = set()
        try:
            for service in self.services.items():
                namespace = _ns(service)
                if not wants_endpoints(service):
                    continue
                wanted.add((namespace, str(service["metadata"].get("name"))))
                if dirty is None or namespace in dirty:
                    await self._sync_service(service, by_ns.get(namespace, []))
            await self._delete_orphans(wanted, dirty)
        except BaseException:
            self._dirty = None
            raise

    async def _sync_service(self, service: Obj, pods: list[Obj]) -> None:
        namespace, name = _ns(service), str(service["metadata"].get("name"))
        desired = {s["metadata"]["name"]: s for s in plan_slices(service, pods)}
        existing = {s["metadata"]["name"]: s for s in self.slices.items()
                    if _ns(s) == namespace and _labels(s).get(SERVICE_NAME_LABEL) == name
                    and _labels(s).get(MANAGED_BY_LABEL) == MANAGED_BY}
        for slice_name, slice_ in desired.items():
            await self._put(self.slices, slice_, existing.get(slice_name))
        for slice_name in existing.keys() - desired.keys():
            await self._delete(self.slices, namespace, slice_name)
        endpoints = plan_endpoints(service, pods)
        await self._put(self.endpoints, endpoints, self.endpoints.get(namespace, name))

    async def _put(self, informer: Informer, desired: Obj, current: Obj | None) -> None:
        res = informer.resource
        try:
            if current is None:
                informer.remember(await self.client.create(res, desired))
            elif differs(desired, current):
                update = dict(desired)
                update["metadata"] = dict(desired["metadata"],
                                          resourceVersion=current["metadata"]["resourceVersion"])
                informer.remember(await self.client.update(res, update))
        except (AlreadyExists, Conflict, NotFound):
            self._dirty = None  # our cache was behind: plan again on the next pass
            self.loop.poke()

    async def _delete(self, informer: Informer, namespace: str, name: str) -> None:
        with contextlib.suppress(NotFound):
            await self.client.delete(informer.resource, namespace, name)
        informer.forget(namespace, name)

    async def _delete_orphans(self, wanted: set[tuple[str, str]],
                              dirty: set[str] | None) -> None:
        for slice_ in self.slices.items():
            labels = _labels(slice_)
            owner = (_ns(slice_), labels.get(SERVICE_NAME_LABEL, ""))
            if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and owner not in wanted and (
                    dirty is None or owner[0] in dirty):
                await self._delete(self.slices, owner[0], str(slice_["metadata"]["name"]))
        for endpoints in self.endpoints.items():
            key = (_ns(endpoints), str(endpoints["metadata"].get("name")))
            managed = _labels(endpoints).get(ENDPOINTS_MANAGED_BY_LABEL) == ENDPOINTS_MANAGED_BY
            if managed and key not in wanted and (dirty is None or key[0] in dirty):
                await self._delete(self.endpoints, *key)
