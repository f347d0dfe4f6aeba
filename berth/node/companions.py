"""Companions: the tasks a node process runs beside the kubelet role, kept alive.

``berth node`` is kubelet, network agent, CNI fast-path server, proxy and DNS
in one process (docs/architecture.md, "Processes").  The parts other than
the kubelet role are ``Companion`` coroutine functions given the node's API
client; ``berth.node.run.run_node`` runs each under ``keep_running`` beside
the ``NodeAgent``.  One that fails is logged and restarted a second later:
a companion never takes the kubelet role down with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from berth.client import Client

Companion = Callable[[Client], Awaitable[None]]
log = logging.getLogger("berth.node")


async def keep_running(name: str, companion: Companion, client: Client) -> None:
    """Run ``companion`` until cancelled, restarting it a second after any failure."""
    while True:
        try:
            await companion(client)
            log.warning("%s returned; restarting it in 1 s", name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; restarting it in 1 s", name)
        await asyncio.sleep(1.0)
