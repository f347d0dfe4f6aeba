"""The DaemonSet controller: one pod per matching node, for every DaemonSet.

It watches DaemonSets, Pods and Nodes; each pass plans every DaemonSet with
`daemonset_plan.plan_daemonset` (pure), creates the missing pods (bound to their
node through spec.nodeName, owned by the DaemonSet), deletes the ones that must
go (gracefully: a bound pod is stopped by its node agent) and writes the status
when it changed. Pods whose controlling DaemonSet no longer exists are deleted,
standing in for Kubernetes' garbage collector. Each write is recorded in the
caches at once, so the next pass does not create a node's pod twice.
"""

from __future__ import annotations

import logging
from typing import Any

from berth.api.errors import AlreadyExists, Conflict, Forbidden, Invalid, NotFound
from berth.api.resources import Resource, by_key
from berth.client import Client
from berth.client.informer import Informer
from berth.controllers.daemonset_plan import new_pod, plan_daemonset
from berth.controllers.loop import Loop
from berth.controllers.objects import is_terminating, record_event

Obj = dict[str, Any]
log = logging.getLogger(__name__)
COMPONENT = "daemonset-controller"


def _res(key: str) -> Resource:
    res = by_key(key)
    assert res is not None
    return res


class DaemonSetController:
    """See the module docstring."""

    def __init__(self, client: Client, daemonsets: Informer, pods: Informer,
                 nodes: Informer) -> None:
        self.client = client
        self.daemonsets, self.pods, self.nodes = daemonsets, pods, nodes
        self.loop = Loop("daemonset-controller", self.reconcile, [daemonsets, pods, nodes])

    async def reconcile(self) -> None:
        nodes = self.nodes.items()
        by_ns: dict[str, list[Obj]] = {}
        for pod in self.pods.items():
            by_ns.setdefault(str(pod["metadata"].get("namespace")), []).append(pod)
        uids = set()
        for ds in self.daemonsets.items():
            uids.add(ds["metadata"].get("uid"))
            if not is_terminating(ds):
                await self._sync(ds, nodes, by_ns.get(str(ds["metadata"].get("namespace")), []))
        await self._delete_orphans(uids)

    async def _sync(self, ds: Obj, nodes: list[Obj], pods: list[Obj]) -> None:
        meta = ds["metadata"]
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        ds = dict(ds, apiVersion="apps/v1", kind="DaemonSet")
        plan = plan_daemonset(ds, nodes, pods)
        for node in plan.create_on:
            try:
                pod = await self.client.create(_res("pods"), new_pod(ds, node), namespace)
            except Invalid as exc:
                await record_event(self.client, ds, "DaemonSet", "FailedCreate",
                                   f"Error creating: {exc}", component=COMPONENT,
                                   event_type="Warning")
                continue
            except (AlreadyExists, Conflict, NotFound, Forbidden) as exc:
                log.info("daemonset %s/%s: pod on %s not created: %s", namespace, name, node,
                         exc)
                continue
            self.pods.remember(pod)
            await record_event(self.client, ds, "DaemonSet", "SuccessfulCreate",
                               f"Created pod: {pod['metadata']['name']}", component=COMPONENT)
        for pod_name in plan.delete:
            await self._delete_pod(namespace, pod_name)
            await record_event(self.client, ds, "DaemonSet", "SuccessfulDelete",
                               f"Deleted pod: {pod_name}", component=COMPONENT)
        status = dict(ds.get("status") or {})
        if any(status.get(k) != v for k, v in plan.status.items()):
            status.update(plan.status)
            try:
                updated = await self.client.patch(_res("daemonsets.apps"), namespace, name,
                                                  {"status": status}, patch_type="merge",
                                                  subresource="status")
            except NotFound:
                return
            self.daemonsets.remember(updated)

    async def _delete_pod(self, namespace: str, name: str) -> None:
        try:
            result = await self.client.delete(_res("pods"), namespace, name)
        except NotFound:
            self.pods.forget(namespace, name)
            return
        if result.get("kind") == "Pod" and is_terminating(result):
            self.pods.remember(result)
        else:
            self.pods.forget(namespace, name)

    async def _delete_orphans(self, uids: set[Any]) -> None:
        for pod in self.pods.items():
            meta = pod["metadata"]
            for ref in meta.get("ownerReferences") or []:
                if (ref.get("controller") and ref.get("kind") == "DaemonSet"
                        and ref.get("uid") not in uids and not is_terminating(pod)):
                    await self._delete_pod(str(meta.get("namespace")), str(meta.get("name")))
