"""What every handler shares: the store, admission, the authenticator, a clock, caches.

`ServerState` is built once by `create_app` and stored in the aiohttp application
under `STATE`. Keeping it one explicit object (not module globals) lets tests
build several servers in one process and inject a clock; each server's admission
(`berth.server.admission`: Service IP and NodePort allocation) is its own, on its
own store.
"""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from berth.api.errors import Forbidden, NotFound
from berth.server.admission import Admission
from berth.server.auth import Authenticator
from berth.store.base import Store

NAMESPACE_CACHE_SECONDS = 2.0
BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class NodeClient:
    """How the server reaches node agents for pods/log and pods/exec."""

    token: str = ""
    ca_file: str | None = None  # None: node certificates are not verified
    scheme: str = "https"


@dataclass
class ServerState:
    store: Store
    admission: Admission  # the write path's hooks on `store` (Service IPs and NodePorts)
    authenticator: Authenticator
    node_client: NodeClient = field(default_factory=NodeClient)
    max_body_bytes: int = 3 * 1024 * 1024
    clock: Callable[[], datetime.datetime] = utcnow
    new_uid: Callable[[], str] = lambda: str(uuid.uuid4())
    server_address: str = "127.0.0.1:6443"
    bookmark_seconds: float = 60.0
    default_watch_seconds: int = 1800
    _namespaces: dict[str, tuple[bool, float]] = field(default_factory=dict)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    node_session: aiohttp.ClientSession | None = None
    closing: bool = False  # set on shutdown: long-running streams end

    def now_text(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")

    async def ensure_namespace_open(self, namespace: str) -> None:
        """NotFound if the namespace does not exist, Forbidden if it is terminating."""
        cached = self._namespaces.get(namespace)
        if cached is None or time.monotonic() - cached[1] > NAMESPACE_CACHE_SECONDS:
            ns = await self.store.get("namespaces", "", namespace)  # NotFound passes through
            terminating = bool((ns.get("metadata") or {}).get("deletionTimestamp"))
            cached = (terminating, time.monotonic())
            self._namespaces[namespace] = cached
        if cached[0]:
            raise Forbidden(f'namespaces "{namespace}" is forbidden: unable to create new content'
                            f" in namespace {namespace} because it is being terminated",
                            {"name": namespace, "kind": "namespaces"})

    def forget_namespace(self, namespace: str) -> None:
        self._namespaces.pop(namespace, None)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background coroutine, keeping a reference until it ends."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


STATE: web.AppKey[ServerState] = web.AppKey("berth_state", ServerState)


def state_of(request: web.Request) -> ServerState:
    return request.app[STATE]


def namespace_not_found(namespace: str) -> NotFound:
    return NotFound(f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"})
