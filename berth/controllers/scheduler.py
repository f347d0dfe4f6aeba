"""The scheduler: binds every pending pod, as a unit, to one node.

Each pass (see `loop.Loop`) takes the pods and nodes from the caches, adds
up what the bound pods already take from each node, and walks the pending pods
oldest first: `scheduling.choose_node` picks a node, the pod is bound through
`pods/{name}/binding` and its PodScheduled condition set to True (plus a
Scheduled event); a pod that fits nowhere gets PodScheduled=False, reason
Unschedulable, the `0/N nodes are available: ...` message and one
FailedScheduling event per distinct message. Any change to a node or a pod pokes
the loop, so an unschedulable pod is tried again when the cluster changes.
Only pods whose schedulerName is empty or `default-scheduler` are ours.
"""

from __future__ import annotations

import logging
from typing import Any

from berth.api.errors import Conflict, NotFound
from berth.api.resources import Resource, by_key
from berth.client import Client, resource_path
from berth.client.informer import Informer
from berth.controllers.loop import Loop
from berth.controllers.objects import (
    condition_changed,
    is_terminal_pod,
    is_terminating,
    new_condition,
    now_text,
    record_event,
)
from berth.controllers.scheduling import NodeUsage, choose_node, usage_by_node

Obj = dict[str, Any]
log = logging.getLogger(__name__)
COMPONENT = "default-scheduler"
SCHEDULER_NAMES = ("", "default-scheduler")


def _pods() -> Resource:
    res = by_key("pods")
    assert res is not None
    return res


def needs_scheduling(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    return (not spec.get("nodeName") and not is_terminating(pod) and not is_terminal_pod(pod)
            and str(spec.get("schedulerName") or "") in SCHEDULER_NAMES)


def _age_key(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("namespace") or ""),
            str(meta.get("name") or ""))


class Scheduler:
    """Binds pending pods; see the module docstring."""

    def __init__(self, client: Client, pods: Informer, nodes: Informer) -> None:
        self.client = client
        self.pods = pods
        self.nodes = nodes
        self.loop = Loop("scheduler", self.reconcile, [pods, nodes])
        self._reported: dict[str, str] = {}  # pod uid -> last FailedScheduling message

    async def reconcile(self) -> None:
        pods = self.pods.items()
        pending = sorted((p for p in pods if needs_scheduling(p)), key=_age_key)
        live = {str(p["metadata"].get("uid")) for p in pending}
        self._reported = {uid: msg for uid, msg in self._reported.items() if uid in live}
        if not pending:
            return
        nodes = sorted((n for n in self.nodes.items() if not is_terminating(n)),
                       key=lambda n: str(n["metadata"].get("name")))
        usage = usage_by_node(pods)
        for pod in pending:
            result = choose_node(pod, nodes, usage)
            if result.node is None:
                await self._mark_unschedulable(pod, result.message)
                continue
            bound = await self._bind(pod, result.node)
            if bound is not None:
                usage.setdefault(result.node, NodeUsage()).add(bound)

    async def _bind(self, pod: Obj, node: str) -> Obj | None:
        meta = pod["metadata"]
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        binding = {"apiVersion": "v1", "kind": "Binding",
                   "metadata": {"name": name, "namespace": namespace},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        path = resource_path(_pods(), namespace, name, "binding")
        try:
            await self.client.request("POST", path, body=binding)
        except (Conflict, NotFound) as exc:
            log.info("binding %s/%s: %s", namespace, name, exc)
            return None
        bound = dict(pod)
        bound["spec"] = dict(pod.get("spec") or {}, nodeName=node)
        self.pods.remember(bound)
        self._reported.pop(str(meta.get("uid")), None)
        await self._set_scheduled(bound, "True", "", "")
        await record_event(self.client, bound, "Pod", "Scheduled",
                           f"Successfully assigned {namespace}/{name} to {node}",
                           component=COMPONENT)
        return bound

    async def _mark_unschedulable(self, pod: Obj, message: str) -> None:
        uid = str(pod["metadata"].get("uid"))
        if self._reported.get(uid) == message and not condition_changed(
                pod, "PodScheduled", "False", "Unschedulable", message):
            return
        await self._set_scheduled(pod, "False", "Unschedulable", message)
        if self._reported.get(uid) != message:
            self._reported[uid] = message
            await record_event(self.client, pod, "Pod", "FailedScheduling", message,
                               component=COMPONENT, event_type="Warning")

    async def _set_scheduled(self, pod: Obj, status: str, reason: str, message: str) -> None:
        if not condition_changed(pod, "PodScheduled", status, reason, message):
            return
        meta = pod["metadata"]
        cond = new_condition(pod, "PodScheduled", status, reason, message, now_text())
        try:
            patched = await self.client.patch(
                _pods(), str(meta.get("namespace")), str(meta.get("name")),
                {"status": {"conditions": [cond]}}, subresource="status")
        except NotFound:
            return
        self.pods.remember(patched)
