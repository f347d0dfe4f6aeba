"""Pod lifecycle Events, as the kubelet posts them (Pulled, Created, Started, Killing, ...).

``plan_event`` renders a core/v1 Event about a pod (pure: reason, message,
type, the container as ``involvedObject.fieldPath``, source ``kubelet`` on
this node).  ``EventRecorder.record`` never blocks a pod worker: it queues
the event, and one background task (started on first use) posts the queue
in order.  A repeat of an event already posted (same pod, reason, message:
a BackOff or a failing probe) becomes a merge patch of its ``count`` and
``lastTimestamp``, as the kubelet's aggregation does, so a crash-looping
pod adds no objects.  Failures are logged, never raised; a full queue drops
the event (the pod's status is what counts; events are for people).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from berth.api.errors import APIError, NotFound
from berth.api.resources import Resource, by_key
from berth.client import Client, ClientError
from berth.node import podspec

Obj = dict[str, Any]
log = logging.getLogger("berth.node")
MAX_QUEUED = 2000
MAX_REMEMBERED = 4096


def _events() -> Resource:
    found = by_key("events")
    assert found is not None
    return found


EVENTS = _events()


def container_path(pod: Obj, name: str) -> str:
    """``spec.containers{app}`` / ``spec.initContainers{init}``, the kubelet's fieldPath."""
    for c in podspec.spec(pod).get("initContainers") or []:
        if c.get("name") == name:
            return f"spec.initContainers{{{name}}}"
    return f"spec.containers{{{name}}}"


def plan_event(pod: Obj, reason: str, message: str, *, node: str, now: str,
               event_type: str = "Normal", field_path: str = "") -> Obj:
    meta = podspec.meta(pod)
    namespace = str(meta.get("namespace") or "default")
    involved: Obj = {"kind": "Pod", "apiVersion": "v1", "namespace": namespace,
                     "name": meta.get("name", ""), "uid": meta.get("uid", ""),
                     "resourceVersion": meta.get("resourceVersion", "")}
    if field_path:
        involved["fieldPath"] = field_path
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta.get('name', 'pod')}.{secrets.token_hex(8)}",
                         "namespace": namespace},
            "involvedObject": involved, "reason": reason, "message": message,
            "type": event_type, "source": {"component": "kubelet", "host": node},
            "reportingComponent": "kubelet", "reportingInstance": node,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1}


@dataclass
class _Posted:
    namespace: str
    name: str
    count: int


class EventRecorder:
    """Queues events and posts them from one background task (see the module docstring)."""

    def __init__(self, client: Client | None, node: str) -> None:
        self.client, self.node = client, node
        self._queue: asyncio.Queue[tuple[tuple[str, str, str], Obj]] = asyncio.Queue(MAX_QUEUED)
        self._posted: dict[tuple[str, str, str], _Posted] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, pod: Obj, reason: str, message: str, *, now: str,
               event_type: str = "Normal", container: str = "") -> None:
        if self.client is None:
            return
        event = plan_event(pod, reason, message, node=self.node, now=now,
                           event_type=event_type,
                           field_path=container_path(pod, container) if container else "")
        key = (str(podspec.meta(pod).get("uid", "")), reason, message)
        try:
            self._queue.put_nowait((key, event))
        except asyncio.QueueFull:
            log.debug("event queue full: dropped %s %s", reason, message)
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._post_forever(), name="berth-node-events")

    async def flush(self) -> None:
        """Wait until every queued event has been posted (tests, shutdown)."""
        await self._queue.join()

    async def _post_forever(self) -> None:
        while True:
            key, event = await self._queue.get()
            try:
                await self._post(key, event)
            except (APIError, ClientError) as exc:
                log.warning("event %s on pod %s not recorded: %s", event["reason"],
                            event["involvedObject"]["name"], exc)
            finally:
                self._queue.task_done()

    async def _post(self, key: tuple[str, str, str], event: Obj) -> None:
        assert self.client is not None
        seen = self._posted.get(key)
        if seen is not None:
            seen.count += 1
            with contextlib.suppress(NotFound):
                await self.client.patch(EVENTS, seen.namespace, seen.name, {
                    "count": seen.count, "lastTimestamp": event["lastTimestamp"]},
                    patch_type="merge")
                return
        meta = event["metadata"]
        await self.client.create(EVENTS, event)
        if len(self._posted) >= MAX_REMEMBERED:
            self._posted.pop(next(iter(self._posted)))
        self._posted[key] = _Posted(meta["namespace"], meta["name"], 1)
