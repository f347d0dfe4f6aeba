"""The node agent (kubelet role): registration, heartbeats, the pod watch and the sync loop.

``NodeAgent.run`` registers the Node (created, or its status refreshed),
then runs side by side: the heartbeat (the node's Lease in
``kube-node-lease`` renewed, Node status conditions refreshed), the pod
watch (a ``berth.client.informer.Informer`` of ``spec.nodeName=<name>``: a
fresh list reconciles the workers, each event is dispatched in order), static pods
from ``--pod-manifest-path``, and the 1 s tick that wakes every pod worker
and does housekeeping (sandboxes whose pod no worker owns - deleted while
the agent was down - are removed), each kept running by ``retry_forever``.
One ``PodWorker`` per pod UID.  On
cancellation the agent stops its own tasks and leaves the pods running: a
new agent over the same root adopts them from the runtime's labels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from berth.api.errors import AlreadyExists, APIError, NotFound
from berth.api.resources import by_key
from berth.client import Client, ClientError
from berth.client.informer import LISTED, Informer
from berth.client.retry import retry_forever
from berth.node import labels, podspec
from berth.node.context import PODS, NodeContext
from berth.node.nodestatus import NodeFacts, gather_facts, plan_lease, plan_node
from berth.node.runtime import errors as rterr
from berth.node.static import MIRROR_ANNOTATION, StaticPods
from berth.node.worker import TICK, PodWorker

Obj = dict[str, Any]
log = logging.getLogger("berth.node")
NODES = by_key("nodes")
LEASES = by_key("leases.coordination.k8s.io")


class NodeAgent:
    def __init__(self, ctx: NodeContext, *, port: int, runtime_name: str = "runc",
                 pod_cidr: str = "", heartbeat_seconds: float = 10.0,
                 static_pods: StaticPods | None = None) -> None:
        self.ctx = ctx
        self.port, self.runtime_name, self.pod_cidr = port, runtime_name, pod_cidr
        self.heartbeat_seconds = heartbeat_seconds
        self.static = static_pods
        self.workers: dict[str, PodWorker] = {}
        self.facts: NodeFacts = gather_facts(ctx.root_dir)
        self.node_uid = ""
        self.not_ready = ""  # the runtime's NotReady message from its last Status ("": ready)
        self.synced = asyncio.Event()
        self.pods: Informer | None = None
        if ctx.client is not None:
            assert PODS is not None
            self.pods = Informer(ctx.client, PODS, watch_seconds=600,
                                 field_selector=f"spec.nodeName={ctx.node_name}")
            self.pods.subscribe_events(self._pod_event)

    @property
    def client(self) -> Client:
        assert self.ctx.client is not None
        return self.ctx.client

    # -- main ------------------------------------------------------------------------------
    async def run(self) -> None:
        tasks = []
        if self.ctx.client is not None:
            await self.register_until_done()
            tasks += [retry_forever("heartbeat", self.heartbeat, logger=log),
                      retry_forever("pod watch", self.watch_pods, logger=log)]
        else:
            self.synced.set()
        tasks.append(retry_forever("sync loop", self.tick, logger=log))
        try:
            await asyncio.gather(*tasks)
        finally:
            for worker in list(self.workers.values()):
                await worker.cancel()

    # -- node and lease ----------------------------------------------------------------------
    def node_object(self, old_conditions: list[Obj] | None = None) -> Obj:
        return plan_node(self.ctx.node_name, self.facts, address=self.ctx.host_ip,
                         port=self.port, runtime=self.runtime_name, now=self.ctx.clock.now(),
                         pod_cidr=self.pod_cidr, not_ready=self.not_ready,
                         old_conditions=old_conditions)

    async def check_runtime(self) -> str:
        """Ask the runtime for its Status (CRI); remembers and returns the NotReady message."""
        self.not_ready = (await self.ctx.runtime.status()).not_ready()
        return self.not_ready

    async def register(self) -> None:
        assert NODES is not None
        await self.check_runtime()
        node = self.node_object()
        try:
            created = await self.client.create(NODES, node)
            self.node_uid = created["metadata"]["uid"]
        except AlreadyExists:
            current = await self.client.get(NODES, None, self.ctx.node_name)
            self.node_uid = current["metadata"]["uid"]
        await self.update_node_status()
        log.info("node %s registered", self.ctx.node_name)

    async def register_until_done(self) -> None:
        """Register, retrying every 2 s while the API server cannot be reached."""
        while True:
            try:
                await self.register()
                return
            except (APIError, ClientError) as exc:
                log.warning("registering node %s: %s; retrying in 2 s", self.ctx.node_name, exc)
                await asyncio.sleep(2.0)

    async def update_node_status(self) -> None:
        assert NODES is not None
        await self.check_runtime()
        current = await self.client.get(NODES, None, self.ctx.node_name)
        old = (current.get("status") or {}).get("conditions")
        node = self.node_object(old)
        await self.client.patch(NODES, None, self.ctx.node_name, {"status": node["status"]},
                                patch_type="merge", subresource="status")

    async def renew_lease(self) -> None:
        assert LEASES is not None
        lease = plan_lease(self.ctx.node_name, self.ctx.clock.now(), self.node_uid)
        try:
            await self.client.patch(LEASES, "kube-node-lease", self.ctx.node_name,
                                    {"spec": lease["spec"]}, patch_type="merge")
        except NotFound:
            with contextlib.suppress(AlreadyExists):
                await self.client.create(LEASES, lease)

    async def heartbeat(self) -> None:
        while True:
            await self.renew_lease()
            try:
                await self.update_node_status()
            except NotFound:
                await self.register()
            await self.wait_next_heartbeat()

    async def wait_next_heartbeat(self) -> None:
        """``heartbeat_seconds``; while the runtime is not ready, ask it every second and end
        the wait as soon as its answer changes, so Ready turns True without a heartbeat's delay."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.heartbeat_seconds
        seen = self.not_ready
        while seen and loop.time() + 1.0 < deadline:
            await asyncio.sleep(1.0)
            if (await self.ctx.runtime.status()).not_ready() != seen:
                return
        await asyncio.sleep(max(0.0, deadline - loop.time()))

    # -- pods ------------------------------------------------------------------------------
    async def watch_pods(self) -> None:
        """List and watch this node's pods until cancelled (``_pod_event`` handles each)."""
        assert self.pods is not None, "no API client: static pods only"
        await self.pods.run()

    async def _pod_event(self, kind: str, pod: Obj | None) -> None:
        if kind == LISTED:
            assert self.pods is not None
            self.reconcile(self.pods.items())
            self.synced.set()
        elif pod is None:
            return
        elif kind == "DELETED":
            await self.forget(pod)
        else:
            await self.dispatch(pod)

    def reconcile(self, pods: list[Obj]) -> None:
        """A fresh list: dispatch every pod, remove workers whose pod is gone."""
        seen = set()
        for pod in pods:
            if MIRROR_ANNOTATION in (podspec.meta(pod).get("annotations") or {}):
                continue
            seen.add(podspec.meta(pod).get("uid"))
            self._dispatch(pod)
        static = self.static.uids() if self.static is not None else set()
        for uid, worker in list(self.workers.items()):
            if uid not in seen and uid not in static:
                worker.remove()

    async def dispatch(self, pod: Obj) -> None:
        annotations = podspec.meta(pod).get("annotations") or {}
        if MIRROR_ANNOTATION in annotations:
            if podspec.meta(pod).get("deletionTimestamp"):
                await self.ctx.delete_pod(pod)  # the static pod keeps running
                if self.static is not None:
                    self.static.forget_mirror(str(podspec.meta(pod).get("name")))
            return
        self._dispatch(pod)

    def _dispatch(self, pod: Obj) -> None:
        uid = str(podspec.meta(pod).get("uid", ""))
        worker = self.workers.get(uid)
        if worker is not None and not worker.done.is_set():
            worker.update(pod)
            return
        if worker is not None:
            return  # terminated; the API delete is on its way
        worker = PodWorker(self.ctx, pod)
        self.workers[uid] = worker
        worker.start()

    async def forget(self, pod: Obj) -> None:
        worker = self.workers.get(str(podspec.meta(pod).get("uid", "")))
        if worker is not None and not worker.done.is_set():
            worker.remove()

    # -- sync loop -------------------------------------------------------------------------
    async def tick(self) -> None:
        while True:
            if self.static is not None:
                for pod in self.static.changed_pods(await asyncio.to_thread(self.static.scan)):
                    self._dispatch(pod)
                for uid in self.static.removed_uids():
                    if uid in self.workers:
                        log.info("static pod %s: its manifest is gone",
                                 podspec.pod_key(self.workers[uid].pod))
                        self.workers[uid].remove()
                        await self.ctx.delete_pod(self.workers[uid].pod)  # its mirror
                if self.ctx.client is not None:
                    await self.static.ensure_mirror_pods(self.ctx.client)
            for uid, worker in list(self.workers.items()):
                if worker.done.is_set():
                    del self.workers[uid]
                else:
                    worker.wake()
            if self.synced.is_set():
                await self.housekeeping()
            await asyncio.sleep(TICK)

    async def housekeeping(self) -> None:
        """Remove sandboxes whose pod has no worker (deleted while the agent was away)."""
        for sandbox in await self.ctx.runtime.list_pod_sandbox():
            uid = sandbox.labels.get(labels.POD_UID, "")
            if uid and uid not in self.workers:
                log.info("removing orphaned sandbox of pod %s/%s (%s)",
                         sandbox.metadata.namespace, sandbox.metadata.name, uid)
                with contextlib.suppress(rterr.RuntimeServiceError):
                    await self.ctx.runtime.remove_pod_sandbox(sandbox.id)
