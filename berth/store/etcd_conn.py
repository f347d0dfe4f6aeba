"""Connections to the members of an etcd cluster, with failover.

`EtcdEndpoints` keeps one gRPC channel per member (created on first use) and
a "current" member. `call` runs a KV request on the current member and, when
that member is unreachable, has no leader or does not answer in time, moves
on to the next one and retries with a short backoff until ``retry_for``
seconds have passed; then it raises `StoreUnavailable`. `call_tracked` also
says whether it retried, so a write can tell "my earlier try was applied"
from a real conflict. Watches use `watch_stub` and `rotate` the same way. aetcd provides the generated etcd v3 protobuf stubs;
everything else about the protocol is in `berth.store.etcd`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aetcd import rpc

from berth.store.errors import StoreUnavailable

T = TypeVar("T")

#: gRPC codes after which another member may well succeed. DEADLINE_EXCEEDED is
#: what a proposal lost with a dying leader looks like.
RETRYABLE = frozenset({rpc.StatusCode.UNAVAILABLE, rpc.StatusCode.DEADLINE_EXCEEDED})


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, rpc.AioRpcError) and exc.code() in RETRYABLE


class EtcdEndpoints:
    """Members by (host, port); one is current, the others are failover targets."""

    def __init__(self, endpoints: list[tuple[str, int]], *, timeout: float = 5.0,
                 retry_for: float = 15.0) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoints")
        self.endpoints = endpoints
        self.timeout = timeout
        self.retry_for = retry_for
        self.current = 0
        self._channels: dict[int, Any] = {}

    def _channel(self, index: int) -> Any:
        if index not in self._channels:
            host, port = self.endpoints[index]
            target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            self._channels[index] = rpc.insecure_channel(target)
        return self._channels[index]

    def kv_stub(self) -> Any:
        return rpc.KVStub(self._channel(self.current))

    def watch_stub(self) -> Any:
        return rpc.WatchStub(self._channel(self.current))

    def rotate(self, failed: int) -> None:
        """Move off member ``failed`` (if no other task has already)."""
        if self.current == failed:
            self.current = (failed + 1) % len(self.endpoints)

    def describe(self) -> str:
        return ",".join(f"{h}:{p}" for h, p in self.endpoints)

    async def call(self, request: Callable[[Any], Awaitable[T]]) -> T:
        """``await request(kv_stub)`` on a healthy member."""
        result, _ = await self.call_tracked(request)
        return result

    async def call_tracked(self, request: Callable[[Any], Awaitable[T]]) -> tuple[T, bool]:
        """Like `call`, and whether it was retried: then an earlier try may have applied."""
        deadline = time.monotonic() + self.retry_for
        delay = 0.05
        retried = False
        while True:
            index = self.current
            try:
                return await request(self.kv_stub()), retried
            except rpc.AioRpcError as exc:
                if not is_retryable(exc):
                    raise
                self.rotate(index)
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailable(
                        f"etcd at {self.describe()} is unavailable: {exc.details()}") from exc
            retried = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()
