"""Crash-loop backoff, as the kubelet does it: pure bookkeeping over an injected time.

The first restart of a container happens at once and arms a 10 s delay; the
next restart may only happen that long after the previous one, and each
restart doubles the delay up to 5 minutes.  A container that has run for
10 minutes since its last restart starts over at 10 s.  Keys are
``(pod uid, container name)``; the worker asks ``in_backoff`` before a restart
and calls ``record_restart`` when it does restart.
"""

from __future__ import annotations

from dataclasses import dataclass

INITIAL = 10.0
MAXIMUM = 300.0
RESET_AFTER = 600.0

Key = tuple[str, str]


@dataclass
class _Entry:
    delay: float
    last: float


class CrashBackoff:
    def __init__(self, initial: float = INITIAL, maximum: float = MAXIMUM,
                 reset_after: float = RESET_AFTER) -> None:
        self.initial, self.maximum, self.reset_after = initial, maximum, reset_after
        self._entries: dict[Key, _Entry] = {}

    def _live(self, key: Key, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry.last >= self.reset_after:
            del self._entries[key]
            return None
        return entry

    def in_backoff(self, key: Key, now: float) -> bool:
        entry = self._live(key, now)
        return entry is not None and now < entry.last + entry.delay

    def remaining(self, key: Key, now: float) -> float:
        entry = self._live(key, now)
        return max(0.0, entry.last + entry.delay - now) if entry else 0.0

    def delay(self, key: Key, now: float) -> float:
        """The delay armed by the last restart (0 when none is armed)."""
        entry = self._live(key, now)
        return entry.delay if entry else 0.0

    def record_restart(self, key: Key, now: float) -> None:
        entry = self._live(key, now)
        if entry is None:
            self._entries[key] = _Entry(self.initial, now)
        else:
            entry.delay = min(entry.delay * 2, self.maximum)
            entry.last = now

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._entries if k[0] == uid]:
            del self._entries[key]
