"""The network agent's reconcile loop: watch Nodes, keep routes/overlay in step, report.

``NetworkAgent.run`` (embeddable in the node agent, or run alone through
``python -m berth.netagent``) does, in order:

1. wait until this node's Node has a ``spec.podCIDR``;
2. ``setup_local`` (forwarding, the VXLAN device) and publish the node's
   ``berth.dev/`` annotations (backend, public IP, VTEP MAC) for its peers;
3. write the subnet file and the CNI conflist;
4. run two tasks: an informer (``berth.client.informer``) that keeps a cache
   of all Nodes, lists them afresh every ``resync_seconds`` and pokes the
   reconciler; and the reconciler, which once the first list arrived, on a
   poke or at least every ``resync_seconds`` plans desired vs actual and
   applies the diff (which also repairs what someone removed), then reports
   ``NetworkUnavailable=False`` on the Node.

Kernel calls are blocking; they run one at a time on the agent's own thread.  A
failed apply is logged and retried at the next poke or resync; nothing is
ever flushed, so restarting the agent does not disturb traffic.  Both tasks
run under ``retry_forever``: a failure is logged and retried after a back-off.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from berth.api.errors import APIError, NotFound
from berth.api.resources import by_key
from berth.client import Client, ClientError
from berth.client.informer import Informer
from berth.client.retry import retry_forever
from berth.host.fabric import Fabric
from berth.netagent import apply, files
from berth.netagent.config import AgentConfig
from berth.netagent.errors import NetAgentError
from berth.netagent.plan import (
    Changes,
    peer_from_node,
    plan_annotations,
    plan_changes,
    plan_desired,
)

T = TypeVar("T")
Obj = dict[str, Any]
NODES = by_key("nodes")
log = logging.getLogger("berth.netagent")


def network_condition(now: float) -> Obj:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    return {"type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated",
            "message": "berth network agent configured the node's routes",
            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}


class NetworkAgent:
    """One node's network agent; ``await run()`` until cancelled."""

    def __init__(self, config: AgentConfig, client: Client,
                 wall_clock: Callable[[], float] = time.time) -> None:
        assert NODES is not None
        self.config, self.client, self.wall_clock = config, client, wall_clock
        self.nodes = Informer(client, NODES, resync=config.resync_seconds, watch_seconds=300)
        self.subnet: ipaddress.IPv4Network | None = None
        self.links: apply.LocalLinks | None = None
        self.last_changes: Changes | None = None
        self.reconciled = asyncio.Event()  # set after each successful reconcile
        self._poke = asyncio.Event()
        self.nodes.subscribe(self._poke.set)
        # pyroute2 sockets belong to the thread that made them: one thread does all kernel I/O.
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"berth-netagent-{config.node_name}")
        self._fab: Fabric | None = None
        self._reported = False

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    # -- start -----------------------------------------------------------------------------
    async def run(self) -> None:
        self._fab = await self._blocking(apply.open_fabric, self.config)
        try:
            self.subnet = await self.wait_subnet()
            self.links = await self._blocking(apply.setup_local, self._fab, self.config,
                                              self.subnet)
            await self.publish()
            await self._blocking(self.write_files)
            expected = (APIError, ClientError, NetAgentError)
            await asyncio.gather(
                retry_forever("node watch", self.nodes.run, expected=expected, logger=log),
                retry_forever("reconcile", self.reconcile_loop, expected=expected, logger=log))
        finally:
            fab, self._fab = self._fab, None
            if fab is not None:
                await asyncio.shield(self._blocking(fab.close))
            self._thread.shutdown(wait=False)

    async def wait_subnet(self) -> ipaddress.IPv4Network:
        assert NODES is not None
        while True:
            try:
                node = await self.client.get(NODES, None, self.config.node_name)
                cidr = (node.get("spec") or {}).get("podCIDR")
                if cidr:
                    return ipaddress.IPv4Network(cidr)
            except (NotFound, ClientError) as exc:
                log.info("waiting for node %s: %s", self.config.node_name, exc)
            await asyncio.sleep(0.5)

    async def publish(self) -> None:
        assert NODES is not None and self.links is not None
        notes = plan_annotations(self.config.cluster.backend, str(self.config.public_ip),
                                 self.links.vtep_mac)
        await self.client.patch(NODES, None, self.config.node_name,
                                {"metadata": {"annotations": notes}}, patch_type="merge")

    def write_files(self) -> None:
        assert self.subnet is not None
        cfg = self.config
        files.write_atomic(cfg.subnet_file, files.render_subnet_env(cfg.cluster, str(self.subnet)))
        if cfg.cni_conf_dir is not None:
            files.write_conflist(cfg.cni_conf_dir, files.render_conflist(
                cfg.cluster, str(self.subnet), cfg.subnet_file, cfg.cni_data_dir, cfg.cni_plugin,
                cfg.cni_socket))

    # -- reconcile -------------------------------------------------------------------------
    async def reconcile_loop(self) -> None:
        await self.nodes.synced.wait()  # never plan from an empty view: it would drop every route
        while True:
            self._poke.clear()
            await self.reconcile_once()
            with contextlib.suppress(TimeoutError):  # not wait_for: it can swallow a cancel
                async with asyncio.timeout(self.config.resync_seconds):
                    await self._poke.wait()

    async def reconcile_once(self) -> Changes:
        assert self._fab is not None and self.links is not None and self.subnet is not None
        peers = [p for p in map(peer_from_node, self.nodes.items()) if p is not None]
        local = apply.local_for(self.config, self.subnet, self.links)
        desired = plan_desired(local, peers)
        actual = await self._blocking(apply.observe, self._fab, self.links)
        changes = plan_changes(desired, actual)
        if not changes.empty:
            log.info("node %s: %s", self.config.node_name, changes.summary())
            await self._blocking(apply.apply_changes, self._fab, self.links, changes)
        self.last_changes = changes
        await self.report()
        self.reconciled.set()
        return changes

    async def report(self) -> None:
        """NetworkUnavailable=False on the Node (strategic merge keeps other conditions)."""
        assert NODES is not None
        own = self.nodes.get("", self.config.node_name) or {}
        conds = (own.get("status") or {}).get("conditions") or []
        if self._reported and any(c.get("type") == "NetworkUnavailable" for c in conds):
            return
        patch = {"status": {"conditions": [network_condition(self.wall_clock())]}}
        await self.client.patch(NODES, None, self.config.node_name, patch,
                                patch_type="strategic", subresource="status")
        self._reported = True
