"""Periodic compaction: keep a bounded window of history for watches.

Kubernetes' API server compacts etcd every few minutes to the revision it
saw one interval earlier; berth does the same for both backends. Every
``interval`` seconds `AutoCompactor` samples the current revision, and
`plan_compaction` (pure) picks the newest revision at least ``retention``
seconds old, moved forward further if that would still keep more than
``max_history`` revisions. Watches that start before the compaction point
get Gone and list again, exactly as with Kubernetes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Sample = tuple[float, int]  # (monotonic time, revision)


@dataclass(frozen=True)
class CompactionPolicy:
    """How much history to keep: by age and by count (0 disables the count bound)."""

    interval: float = 60.0
    retention: float = 300.0
    max_history: int = 100_000


def plan_compaction(samples: list[Sample], now: float, current: int,
                    policy: CompactionPolicy) -> tuple[int | None, list[Sample]]:
    """(revision to compact to or None, the samples still worth keeping)."""
    old = [rev for t, rev in samples if now - t >= policy.retention]
    target = max(old) if old else None
    if policy.max_history > 0 and current - policy.max_history > (target or 0):
        target = current - policy.max_history
    keep = [(t, rev) for t, rev in samples if now - t < policy.retention]
    return (target if target and target > 0 else None), keep


class AutoCompactor:
    """Runs `plan_compaction` every ``policy.interval`` seconds against a store."""

    def __init__(self, current_revision: Callable[[], Awaitable[int]],
                 compact: Callable[[int], Awaitable[None]], policy: CompactionPolicy,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._current_revision = current_revision
        self._compact = compact
        self.policy = policy
        self._clock = clock
        self._samples: list[Sample] = []
        self._done: int = 0
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int | None:
        """Sample, plan, compact; the revision compacted to, if any."""
        now, current = self._clock(), await self._current_revision()
        self._samples.append((now, current))
        target, self._samples = plan_compaction(self._samples, now, current, self.policy)
        if target is None or target <= self._done:
            return None
        await self._compact(target)
        self._done = target
        return target

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.policy.interval)
            try:
                await self.run_once()
            except Exception as exc:  # a failed round is retried on the next tick
                log.warning("automatic compaction failed: %s", exc)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
