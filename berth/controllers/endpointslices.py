"""The EndpointSlice controller: keeps each Service's EndpointSlices and Endpoints in step.

It watches Services, Pods, EndpointSlices and Endpoints, and re-plans only the
Services a change can affect:

- a Service event marks that Service;
- a Pod event marks the Services whose selector matches the pod's labels now
  (found through an index of selector pairs) and those that listed the pod
  last time (so a pod that stops matching leaves them);
- an EndpointSlice or Endpoints event marks the Service it belongs to, so a
  slice edited or deleted by someone else is put back.

Each pass plans the marked Services with `endpoints_plan` (pure), over the pods
that carry one of the selector's label pairs, and writes only the difference:
slices are created, replaced or deleted by their stable names, and the legacy
Endpoints object (named as the Service) likewise. Slices and Endpoints with
this controller's managed-by label whose Service is gone (or lost its selector)
are deleted, which stands in for Kubernetes' garbage collector. A fresh list
by any informer, and every `FULL_RESYNC_SECONDS`, re-plans everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from berth.api.errors import AlreadyExists, Conflict, Forbidden, NotFound
from berth.client import Client
from berth.client.informer import Informer, Key, key_of
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
from berth.controllers.loop import Loop

Obj = dict[str, Any]
Pair = tuple[str, str, str]  # namespace, label key, label value
log = logging.getLogger(__name__)
FULL_RESYNC_SECONDS = 30.0
PARALLEL_WRITES = 8  # Services synced at once in one pass


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _selector(service: Obj) -> dict[str, str]:
    return dict((service.get("spec") or {}).get("selector") or {})


def _pairs(namespace: str, labels: dict[str, str]) -> list[Pair]:
    return [(namespace, str(k), str(v)) for k, v in labels.items()]


class EndpointSliceController:
    """See the module docstring."""

    def __init__(self, client: Client, services: Informer, pods: Informer,
                 slices: Informer, endpoints: Informer) -> None:
        self.client = client
        self.services, self.pods = services, pods
        self.slices, self.endpoints = slices, endpoints
        self._dirty: set[Key] | None = None  # None: every Service
        self._last_full = 0.0
        self._members: dict[Key, set[Key]] = {}  # pod -> Services that listed it
        self._listed: dict[Key, set[Key]] = {}  # Service -> pods it listed
        self._by_pair: dict[Pair, set[Key]] | None = None  # selector pair -> Services
        self.loop = Loop("endpointslice-controller", self.reconcile,
                         [services, pods, slices, endpoints])
        services.subscribe_objects(self._service_changed)
        pods.subscribe_objects(self._pod_changed)
        slices.subscribe_objects(self._slice_changed)
        endpoints.subscribe_objects(self._endpoints_changed)

    def _mark(self, key: Key) -> None:
        if self._dirty is not None:
            self._dirty.add(key)

    def _service_changed(self, obj: Obj | None) -> None:
        self._by_pair = None
        if obj is None:
            self._dirty = None
        else:
            self._mark(key_of(obj))

    def _pod_changed(self, obj: Obj | None) -> None:
        if obj is None:
            self._dirty = None
            return
        for key in self._members.get(key_of(obj), ()):
            self._mark(key)
        index = self._service_index()
        for pair in _pairs(_ns(obj), _labels(obj)):
            for key in index.get(pair, ()):
                self._mark(key)

    def _slice_changed(self, obj: Obj | None) -> None:
        if obj is None:
            self._dirty = None
        elif _labels(obj).get(SERVICE_NAME_LABEL):
            self._mark((_ns(obj), _labels(obj)[SERVICE_NAME_LABEL]))

    def _endpoints_changed(self, obj: Obj | None) -> None:
        if obj is None:
            self._dirty = None
        else:
            self._mark(key_of(obj))

    def _service_index(self) -> dict[Pair, set[Key]]:
        if self._by_pair is None:
            index: dict[Pair, set[Key]] = {}
            for service in self.services.items():
                for pair in _pairs(_ns(service), _selector(service)):
                    index.setdefault(pair, set()).add(key_of(service))
            self._by_pair = index
        return self._by_pair

    async def reconcile(self) -> None:
        if time.monotonic() - self._last_full > FULL_RESYNC_SECONDS:
            self._dirty = None
        dirty, self._dirty = self._dirty, set()
        if dirty is None:
            self._last_full = time.monotonic()
            dirty = set(self.services.cache)
            dirty |= {(_ns(s), _labels(s).get(SERVICE_NAME_LABEL, "")) for s in
                      self.slices.items()}
            dirty |= set(self.endpoints.cache)
        pods_by_pair: dict[Pair, list[Obj]] = {}
        for pod in self.pods.items():
            for pair in _pairs(_ns(pod), _labels(pod)):
                pods_by_pair.setdefault(pair, []).append(pod)
        limit = asyncio.Semaphore(PARALLEL_WRITES)

        async def sync(key: Key) -> None:
            async with limit:
                service = self.services.get(*key)
                if service is not None and wants_endpoints(service):
                    lists = [pods_by_pair.get(p, []) for p in _pairs(key[0], _selector(service))]
                    await self._sync_service(service, min(lists, key=len))
                else:
                    await self._delete_orphans(key)

        results = await asyncio.gather(*(sync(key) for key in sorted(dirty)),
                                       return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            self._dirty = None  # plan everything again after the loop's back-off
            raise failures[0]

    async def _sync_service(self, service: Obj, candidates: list[Obj]) -> None:
        namespace, name = key_of(service)
        desired_list = plan_slices(service, candidates)
        self._record_members((namespace, name), desired_list)
        desired = {s["metadata"]["name"]: s for s in desired_list}
        existing = {s["metadata"]["name"]: s for s in self._managed_slices(namespace, name)}
        for slice_name, slice_ in desired.items():
            await self._put(self.slices, slice_, existing.get(slice_name), (namespace, name))
        for slice_name in existing.keys() - desired.keys():
            await self._delete(self.slices, namespace, slice_name)
        endpoints = plan_endpoints(service, candidates)
        await self._put(self.endpoints, endpoints, self.endpoints.get(namespace, name),
                        (namespace, name))

    def _record_members(self, key: Key, slices: list[Obj]) -> None:
        for pod in self._listed.pop(key, set()):
            services = self._members.get(pod)
            if services is not None:
                services.discard(key)
                if not services:
                    del self._members[pod]
        listed = set()
        for slice_ in slices:
            for endpoint in slice_.get("endpoints") or []:
                ref = endpoint.get("targetRef") or {}
                listed.add((str(ref.get("namespace") or ""), str(ref.get("name") or "")))
        for pod in listed:
            self._members.setdefault(pod, set()).add(key)
        if listed:
            self._listed[key] = listed

    def _managed_slices(self, namespace: str, service: str) -> list[Obj]:
        return [s for s in self.slices.items()
                if _ns(s) == namespace and _labels(s).get(SERVICE_NAME_LABEL) == service
                and _labels(s).get(MANAGED_BY_LABEL) == MANAGED_BY]

    async def _put(self, informer: Informer, desired: Obj, current: Obj | None,
                   service: Key) -> None:
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
            self._mark(service)  # our cache was behind: plan this Service again
            self.loop.poke()
        except Forbidden as exc:  # the namespace is terminating: its reaper cleans up
            log.info("%s %s/%s not written: %s", res.kind, *service, exc.message)

    async def _delete(self, informer: Informer, namespace: str, name: str) -> None:
        with contextlib.suppress(NotFound):
            await self.client.delete(informer.resource, namespace, name)
        informer.forget(namespace, name)

    async def _delete_orphans(self, key: Key) -> None:
        """Remove what this controller made for a Service that is gone or has no selector."""
        namespace, name = key
        for slice_ in self._managed_slices(namespace, name):
            await self._delete(self.slices, namespace, str(slice_["metadata"]["name"]))
        endpoints = self.endpoints.get(namespace, name)
        if endpoints is not None and _labels(endpoints).get(
                ENDPOINTS_MANAGED_BY_LABEL) == ENDPOINTS_MANAGED_BY:
            await self._delete(self.endpoints, namespace, name)
        self._record_members(key, [])
