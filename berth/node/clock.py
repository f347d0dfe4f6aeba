"""Time as the node agent sees it, injectable so tests drive timing rules with a fake clock.

``Clock.now()`` is wall-clock seconds (float); the crash-loop backoff, probe
schedules and status timestamps read it.  ``SystemClock`` is the real one;
``rfc3339`` renders a time the way Kubernetes' status fields carry it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()


def rfc3339(seconds: float) -> str:
    """``2026-11-25T02:10:32Z`` (Kubernetes' metav1.Time, second precision)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(seconds: float) -> str:
    """``2026-11-25T02:10:32.123456Z`` (metav1.MicroTime, as in a Lease's renewTime)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ns_to_rfc3339(ns: int) -> str:
    return rfc3339(ns / 1e9) if ns else ""
