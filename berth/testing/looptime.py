"""An asyncio event loop in simulated time, so timing rules are tested without waiting.

The node agent's timing lives in ``asyncio.sleep``/``wait_for`` (probe
periods, the 1 s tick, grace periods, preStop sleeps) and in its `Clock`
(crash-loop backoff, status times). `VirtualTimeLoop` makes both fast and
deterministic: its ``time()`` is a counter that jumps straight to the next
timer whenever every task waits, instead of blocking in ``select``. Real
I/O still works (sockets, the loop's self-pipe): the loop polls it without
waiting, and while work handed to an executor thread is outstanding it
waits for that work in real time without moving the clock, so a thread's
result arrives "at the same moment" it was asked for.

`LoopClock` is the node `Clock` over such a loop (wall time = an epoch plus
the loop's time); `run` runs a coroutine on a fresh loop with a bound on
both simulated and real time, and reports a deadlock (every task waiting,
no timer, no thread at work) instead of hanging.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")
EPOCH = 1_800_000_000.0  # 2027-01-15: a fixed "now" makes reported times reproducible
REAL_POLL = 0.05


class Deadlock(RuntimeError):
    """Every task waits on something that can never happen (no timer, no I/O, no thread)."""


class _VirtualSelector(selectors.DefaultSelector):
    loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self.loop
        events: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if events or timeout == 0 or loop is None:
            return events
        loop.check_real_deadline()
        if loop.busy_threads:  # a thread's answer is on its way: wait for it, time stands
            return list(super().select(REAL_POLL if timeout is None else min(timeout,
                                                                              REAL_POLL)))
        if timeout is None:
            raise Deadlock("every task waits, and no timer, I/O or thread can wake one")
        loop.advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector loop whose clock moves only when nothing is ready to run."""

    def __init__(self, start: float = 0.0, real_limit: float = 60.0) -> None:
        selector = _VirtualSelector()
        super().__init__(selector)
        selector.loop = self
        self._virtual = selector
        self._now = start
        self.busy_threads = 0
        self._real_deadline = time.monotonic() + real_limit

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += max(0.0, seconds)

    def real_time(self) -> None:
        """From now on wait for real (shutting the loop down waits on plain threads)."""
        self._virtual.loop = None

    def check_real_deadline(self) -> None:
        if time.monotonic() > self._real_deadline:
            raise TimeoutError("the virtual-time test ran past its real-time limit")

    def run_in_executor(  # type: ignore[override]
            self, executor: Executor | None, func: Callable[..., T],
            *args: Any) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self.busy_threads += 1

        def done(_: asyncio.Future[T]) -> None:
            self.busy_threads -= 1

        future.add_done_callback(done)
        return future


class LoopClock:
    """The node's `Clock` reading the running loop's time, shifted to a wall-clock epoch."""

    def __init__(self, loop: asyncio.AbstractEventLoop, epoch: float = EPOCH) -> None:
        self.loop, self.epoch = loop, epoch

    def now(self) -> float:
        return self.epoch + self.loop.time()


def run(main: Callable[[VirtualTimeLoop], Coroutine[Any, Any, T]], *,
        limit: float = 3600.0, real_limit: float = 20.0) -> T:
    """Run ``main(loop)`` on a new `VirtualTimeLoop`; fail past ``limit`` simulated seconds."""
    loop = VirtualTimeLoop(real_limit=real_limit)

    async def bounded() -> T:
        async with asyncio.timeout(limit):
            return await main(loop)

    try:
        return loop.run_until_complete(bounded())
    finally:
        loop.real_time()
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
