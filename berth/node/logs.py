"""Container logs as ``kubectl logs`` shows them, read from CRI log files.

A CRI log line is ``<RFC3339Nano> <stdout|stderr> <F|P> <content>``; ``P``
chunks are joined with the following ones up to the ``F`` line.
``parse_cri_lines`` (pure) yields ``LogLine``s; ``render`` applies
``tailLines``, ``timestamps``, ``sinceTime`` and ``limitBytes``;
``follow_file`` yields new bytes of a growing file until told to stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    stream: str
    content: bytes


def parse_cri_lines(data: bytes) -> list[LogLine]:
    """Complete lines of a CRI log (a trailing partial record is left out)."""
    out: list[LogLine] = []
    pending: dict[str, bytes] = {}
    for raw in data.split(b"\n")[:-1] if not data.endswith(b"\n") else data.split(b"\n"):
        parts = raw.split(b" ", 3)
        if len(parts) < 3:
            continue
        ts, stream, tag = parts[0].decode(), parts[1].decode(), parts[2]
        content = parts[3] if len(parts) > 3 else b""
        if tag == b"P":
            pending[stream] = pending.get(stream, b"") + content
            continue
        out.append(LogLine(ts, stream, pending.pop(stream, b"") + content))
    return out


def render(lines: Iterable[LogLine], *, tail: int | None = None, timestamps: bool = False,
           since: str = "", limit_bytes: int = 0) -> bytes:
    selected = [line for line in lines if not since or line.timestamp >= since]
    if tail is not None:
        selected = selected[-tail:] if tail > 0 else []
    out = b"".join((line.timestamp.encode() + b" " if timestamps else b"") + line.content
                   + b"\n" for line in selected)
    return out[:limit_bytes] if limit_bytes else out


async def follow_file(path: Path, offset: int, finished: Callable[[], bool],
                      poll: float = 0.2) -> AsyncIterator[bytes]:
    """New complete records of ``path`` after ``offset``, until ``finished()`` and drained."""
    buffer = b""
    while True:
        chunk = await asyncio.to_thread(_read_from, path, offset)
        offset += len(chunk)
        buffer += chunk
        if b"\n" in buffer:
            complete, _, buffer = buffer.rpartition(b"\n")
            yield complete + b"\n"
        elif not chunk:
            if finished():
                return
            await asyncio.sleep(poll)


def _read_from(path: Path, offset: int) -> bytes:
    """The bytes of ``path`` after ``offset``; nothing if it does not exist (blocking)."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read()
    except FileNotFoundError:
        return b""
