"""Claims in the store: one object per allocated Service IP or NodePort.

Kubernetes (1.31+) records each Service IP as an `IPAddress` object whose
creation is the allocation: the datastore's "create if absent" makes it atomic
across concurrent requests and across API servers, and the objects outlive a
restart. `ClaimTable` does the same for one range: `claim` creates the claim
object (AlreadyExists means taken, unless the claim already names the same
Service uid), `release` deletes it if it is the Service's own. A cache of used
member numbers, loaded from the store on first use, lets `allocate` pick a free
member without listing; a collision with another server just marks the member
used and tries the next.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from berth.api.errors import AlreadyExists, Conflict, NotFound
from berth.api.meta import now
from berth.store.base import Store

Obj = dict[str, Any]
UID_ANNOTATION = "berth.dev/service-uid"


class Range(Protocol):
    @property
    def size(self) -> int: ...

    def describe(self) -> str: ...


def owner_of(claim: Obj) -> tuple[str, str, str]:
    """(namespace, name, uid) of the Service a claim belongs to."""
    ref = (claim.get("spec") or {}).get("parentRef") or {}
    uid = ((claim.get("metadata") or {}).get("annotations") or {}).get(UID_ANNOTATION, "")
    return str(ref.get("namespace") or ""), str(ref.get("name") or ""), str(uid)


def service_identity(service: Obj) -> tuple[str, str, str]:
    meta = service.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""),
            str(meta.get("uid") or ""))


class ClaimTable:
    """Claims of one range under one store key (see the module docstring)."""

    def __init__(self, store: Store, key: str, kind: str, api_version: str) -> None:
        self.store = store
        self.key = key
        self.kind = kind
        self.api_version = api_version
        self._used: set[str] | None = None
        self.lock = asyncio.Lock()

    async def used(self) -> set[str]:
        if self._used is None:
            listing = await self.store.list(self.key)
            self._used = {str(c["metadata"]["name"]) for c in listing.items}
        return self._used

    async def reload(self) -> None:
        self._used = None
        await self.used()

    def _claim_object(self, name: str, service: Obj) -> Obj:
        namespace, svc_name, uid = service_identity(service)
        return {"apiVersion": self.api_version, "kind": self.kind,
                "metadata": {"name": name, "creationTimestamp": now(),
                             "labels": {"ipaddress.kubernetes.io/managed-by": "berth"},
                             "annotations": {UID_ANNOTATION: uid}},
                "spec": {"parentRef": {"group": "", "resource": "services",
                                       "namespace": namespace, "name": svc_name}}}

    async def claim(self, name: str, service: Obj) -> bool:
        """Take `name` for `service`; False if another Service holds it."""
        used = await self.used()
        try:
            await self.store.create(self.key, self._claim_object(name, service))
        except AlreadyExists:
            used.add(name)
            try:
                current = await self.store.get(self.key, "", name)
            except NotFound:
                return await self.claim(name, service)
            return owner_of(current)[2] == service_identity(service)[2]
        used.add(name)
        return True

    async def release(self, name: str, uid: str) -> None:
        """Delete the claim on `name` if it belongs to the Service with `uid`."""
        try:
            current = await self.store.get(self.key, "", name)
        except NotFound:
            (await self.used()).discard(name)
            return
        if owner_of(current)[2] != uid:
            return
        with contextlib.suppress(NotFound, Conflict):
            await self.store.delete(self.key, "", name,
                                    resource_version=current["metadata"].get("resourceVersion"))
        (await self.used()).discard(name)

    async def all_claims(self) -> list[Obj]:
        return (await self.store.list(self.key)).items
