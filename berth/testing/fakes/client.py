"""The few API calls a node agent's pod workers make, answered from memory and recorded.

A pod worker talks to the API server only through its `NodeContext`:
status merge patches on ``pods/status``, the final ``gracePeriodSeconds=0``
delete, Events, and GETs of the ConfigMaps and Secrets a pod references; the
agent itself registers its Node and Lease and patches them on each heartbeat
(every Node status it posts is kept in ``node_history``).
`RecordingClient` answers exactly those with the duck type of
`berth.client.Client`, keeps every status it was sent (the latest per pod
in ``statuses``), and calls ``on_status`` so a harness can hand the new
status back to the worker as the pod watch would.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from berth.api.errors import NotFound
from berth.api.resources import Resource

Obj = dict[str, Any]


class RecordingClient:
    """Objects by (plural, namespace, name); writes recorded in order."""

    def __init__(self, objects: list[tuple[str, Obj]] | None = None) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        for plural, obj in objects or []:
            self.put(plural, obj)
        self.status_history: list[tuple[str, Obj]] = []  # (pod name, status)
        self.deleted: list[tuple[str, str, int | None]] = []  # (namespace, name, grace)
        self.events: list[Obj] = []
        self.node_history: list[Obj] = []  # every Node status the agent posted
        self.on_status: Callable[[str, Obj], None] | None = None

    def put(self, plural: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        self.objects[(plural, meta.get("namespace") or "", meta["name"])] = obj

    @property
    def statuses(self) -> dict[str, Obj]:
        """The last status reported for each pod name."""
        return {name: status for name, status in self.status_history}

    def reasons(self) -> list[str]:
        """The reasons of the Events recorded, in order."""
        return [str(e.get("reason")) for e in self.events]

    async def get(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        obj = self.objects.get((resource.plural, namespace or "", name))
        if obj is None:
            raise NotFound(f'{resource.plural} "{name}" not found')
        return copy.deepcopy(obj)

    async def create(self, resource: Resource, obj: Obj, namespace: str | None = None) -> Obj:
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {}).setdefault("uid", f"uid-{len(self.objects) + 1}")
        if resource.plural == "events":
            self.events.append(copy.deepcopy(obj))
        else:
            self.put(resource.plural, copy.deepcopy(obj))
        if resource.plural == "nodes":
            self.node_history.append(copy.deepcopy(obj.get("status") or {}))
        return obj

    async def patch(self, resource: Resource, namespace: str | None, name: str, patch: Any, *,
                    patch_type: str = "strategic", subresource: str | None = None) -> Obj:
        if resource.plural == "pods" and subresource == "status":
            status = copy.deepcopy(patch["status"])
            self.status_history.append((name, status))
            if self.on_status is not None:
                self.on_status(name, status)
            return {"status": status}
        stored = self.objects.get((resource.plural, namespace or "", name))
        if resource.plural in ("nodes", "leases") and stored is not None:
            section = "status" if subresource == "status" else "spec"
            stored.setdefault(section, {}).update(copy.deepcopy(patch.get(section) or {}))
            if resource.plural == "nodes" and subresource == "status":
                self.node_history.append(copy.deepcopy(stored["status"]))
            return copy.deepcopy(stored)
        if resource.plural == "events":
            for event in self.events:
                if (event.get("metadata") or {}).get("name") == name:
                    event.update(copy.deepcopy(patch))
            return {}
        raise NotFound(f'{resource.plural} "{name}" not found')

    async def delete(self, resource: Resource, namespace: str | None, name: str, *,
                     grace_period: int | None = None, propagation: str | None = None) -> Obj:
        self.deleted.append((namespace or "", name, grace_period))
        self.objects.pop((resource.plural, namespace or "", name), None)
        return {"kind": "Status", "status": "Success"}
