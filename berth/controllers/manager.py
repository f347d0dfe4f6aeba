"""Starting and stopping the controllers that run inside `berth server`.

`start_controllers` starts one shared informer per resource (pods, nodes,
services, endpointslices, endpoints, daemonsets) and the loop of each enabled
controller, all as tasks of the running event loop. Controllers talk to the API
server over its HTTP API with the admin identity (as kube-controller-manager
does), so every write goes through the same validation, defaulting and watch
fan-out as a user's. (Service IP and NodePort allocation is the server's own
admission, `berth.server.admission`, not a controller.)
`ControllerManager.stop` cancels the tasks and closes the client.
`start_for_server` also makes the built-in `kubernetes` and `kube-dns`
Services (`berth.controllers.bootstrap`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from berth.api.addressplan import AddressPlan
from berth.api.resources import by_key
from berth.client import Client, ClusterConfig
from berth.client.informer import Informer
from berth.client.retry import retry_forever
from berth.controllers.bootstrap import ensure_builtin_services
from berth.controllers.daemonset import DaemonSetController
from berth.controllers.endpointslices import EndpointSliceController
from berth.controllers.loop import Loop
from berth.controllers.nodeipam import NodeIPAM
from berth.controllers.scheduler import Scheduler

log = logging.getLogger(__name__)
ALL_CONTROLLERS = ("scheduler", "nodeipam", "daemonset", "endpointslice")
INFORMER_KEYS = ("pods", "nodes", "services", "endpointslices.discovery.k8s.io", "endpoints",
                 "daemonsets.apps")


@dataclass
class ControllerManager:
    """The running controllers; `loops` by name, for tests and status."""

    client: Client
    informers: dict[str, Informer]
    loops: dict[str, Loop]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def wait_synced(self) -> None:
        for informer in self.informers.values():
            await informer.synced.wait()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.client.close()


def _informers(client: Client) -> dict[str, Informer]:
    out = {}
    for key in INFORMER_KEYS:
        res = by_key(key)
        assert res is not None
        out[key] = Informer(client, res)
    return out


async def start_controllers(client: Client, plan: AddressPlan, *,
                            enabled: Collection[str] = ALL_CONTROLLERS) -> ControllerManager:
    """Start the enabled controllers on `client`."""
    inf = _informers(client)
    pods, nodes = inf["pods"], inf["nodes"]
    loops: dict[str, Loop] = {}
    if "scheduler" in enabled:
        loops["scheduler"] = Scheduler(client, pods, nodes).loop
    if "nodeipam" in enabled:
        loops["nodeipam"] = NodeIPAM(client, nodes, plan).loop
    if "daemonset" in enabled:
        loops["daemonset"] = DaemonSetController(client, inf["daemonsets.apps"], pods,
                                                 nodes).loop
    if "endpointslice" in enabled:
        loops["endpointslice"] = EndpointSliceController(
            client, inf["services"], pods, inf["endpointslices.discovery.k8s.io"],
            inf["endpoints"]).loop
    manager = ControllerManager(client, inf, loops)
    for name, informer in inf.items():
        manager.tasks.append(asyncio.create_task(
            retry_forever(f"informer {name}", informer.run, logger=log), name=f"informer-{name}"))
    for name, loop in loops.items():
        manager.tasks.append(asyncio.create_task(loop.run(), name=f"controller-{name}"))
    return manager


async def start_for_server(url: str, token: str, ca_pem: bytes, plan: AddressPlan, *,
                           enabled: Collection[str] = ALL_CONTROLLERS,
                           api_url: str = "") -> ControllerManager:
    """What `berth server` calls once it listens: controllers over loopback HTTPS.

    Also makes the built-in Services once (`bootstrap`); `api_url` is the API
    address pods reach (default `url`).
    """
    client = Client(ClusterConfig(server=url, ca_pem=ca_pem, token=token,
                                  source="berth server (controllers)"))
    try:
        manager = await start_controllers(client, plan, enabled=enabled)
        await ensure_builtin_services(client, plan, api_url or url)
        return manager
    except BaseException:
        await client.close()
        raise
