"""Waiting after a failure: one capped exponential back-off and one "keep it running" loop.

Every long-lived task of berth talks to something that can go away (the API
server, the kernel, a socket) and must come back when it returns, without
spinning while it is gone.  ``Backoff`` says how long to wait after the n-th
failure in a row (``initial * factor**n``, at most ``cap``; deterministic, no
jitter); ``reset`` starts over after a success.  ``retry_forever`` runs a
coroutine function until cancelled: when it fails (or returns, which a
long-lived task should not) the failure is logged and the function is run
again after the back-off.  A run that lasted at least ``cap`` seconds counts as
a success, so a task that fails once after hours is retried after ``initial``.
Expected failures (the API's refusals, an unreachable server) are logged as
one line; anything else with its traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NoReturn

from berth.api.errors import APIError
from berth.client.errors import ClientError

log = logging.getLogger(__name__)
EXPECTED: tuple[type[BaseException], ...] = (APIError, ClientError)


@dataclass
class Backoff:
    """Delays after consecutive failures: ``initial``, ``initial*factor``, ... up to ``cap``."""

    initial: float = 1.0
    cap: float = 5.0
    factor: float = 2.0
    failures: int = field(default=0, init=False)

    def next(self) -> float:
        """The delay to wait after one more failure (and count it)."""
        delay = min(self.cap, self.initial * self.factor ** min(self.failures, 32))
        self.failures += 1
        return delay

    def reset(self) -> None:
        """A success: the next failure waits ``initial`` again."""
        self.failures = 0

    async def wait(self) -> float:
        """Count one failure and sleep its delay; returns the delay."""
        delay = self.next()
        await asyncio.sleep(delay)
        return delay


async def retry_forever(name: str, fn: Callable[[], Awaitable[object]], *,
                        backoff: Backoff | None = None,
                        expected: tuple[type[BaseException], ...] = EXPECTED,
                        logger: logging.Logger | None = None,
                        clock: Callable[[], float] = time.monotonic) -> NoReturn:
    """Run ``fn()`` until cancelled, again after every failure or return (see the module doc)."""
    backoff = backoff if backoff is not None else Backoff()
    logger = logger if logger is not None else log
    while True:
        started = clock()
        level, problem, error = logging.WARNING, "returned", None
        try:
            await fn()
        except asyncio.CancelledError:
            raise
        except expected as exc:
            problem = f"failed: {exc}"
        except Exception as exc:  # anything else: logged with its traceback, then retried
            level, problem, error = logging.ERROR, "failed", exc
        if clock() - started >= backoff.cap:
            backoff.reset()
        delay = backoff.next()
        logger.log(level, "%s %s; retrying in %.1f s", name, problem, delay, exc_info=error)
        await asyncio.sleep(delay)
