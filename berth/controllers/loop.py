"""The level-triggered reconcile loop every controller runs on.

A `Loop` runs one controller's `reconcile()` (a whole pass over the caches of
its `berth.client.informer.Informer`s, comparing desired with actual state)
whenever a cache it reads changed, after a short debounce that coalesces
bursts, at least every `resync` seconds, and again after a back-off
(`berth.client.retry.Backoff`) when a pass failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from berth.api.errors import APIError
from berth.client import ClientError
from berth.client.informer import Informer
from berth.client.retry import Backoff

log = logging.getLogger(__name__)


class Loop:
    """Runs `reconcile` when poked (debounced), every `resync` seconds, and after failures."""

    def __init__(self, name: str, reconcile: Callable[[], Awaitable[None]],
                 informers: list[Informer], *, resync: float = 30.0,
                 debounce: float = 0.02, backoff: Backoff | None = None) -> None:
        self.name = name
        self._reconcile = reconcile
        self._informers = informers
        self._resync = resync
        self._debounce = debounce
        self._backoff = backoff if backoff is not None else Backoff()
        self._dirty = asyncio.Event()
        self.passes = 0
        for informer in informers:
            informer.subscribe(self.poke)

    def poke(self) -> None:
        self._dirty.set()

    async def run(self) -> None:
        for informer in self._informers:
            await informer.synced.wait()
        self._dirty.set()
        while True:
            # not asyncio.wait_for: on Python 3.11 it swallows a cancel that arrives just
            # after the event was set, and the loop would outlive its manager's stop()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._resync):
                    await self._dirty.wait()
            await asyncio.sleep(self._debounce)
            self._dirty.clear()
            try:
                await self._reconcile()
                self._backoff.reset()
            except (APIError, ClientError) as exc:
                delay = self._backoff.next()
                log.warning("%s: %s; retrying in %.1f s", self.name, exc, delay)
                await asyncio.sleep(delay)
                self._dirty.set()
            except Exception:
                delay = self._backoff.next()
                log.exception("%s: reconcile failed; retrying in %.1f s", self.name, delay)
                await asyncio.sleep(delay)
                self._dirty.set()
            self.passes += 1
