"""The building blocks every kind's columns share: ``Column``, ages, field cells.

kubectl prints ages with ``duration.HumanDuration`` and ``<none>`` for empty
cells; the helpers here do the same so each kind's module only says which
fields go in which column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Obj = dict[str, Any]
Cell = str | int
NONE = "<none>"


@dataclass(frozen=True)
class Column:
    """One column: its Table name, the cell function, and 1 for wide-only columns."""

    name: str
    cell: Callable[[Obj, datetime], Cell]
    priority: int = 0
    type: str = "string"
    format: str = ""
    description: str = ""


# ---------------------------------------------------------------- time helpers


def parse_time(text: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp as the API writes it; None when absent or malformed."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """Format a duration as kubectl's ``duration.HumanDuration`` does (``5m``, ``3h12m``)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def since(text: str | None, now: datetime) -> str:
    """The age of a timestamp, ``<unknown>`` when there is none."""
    when = parse_time(text)
    if when is None:
        return "<unknown>"
    return human_duration((now - when).total_seconds())


def _age(obj: Obj, now: datetime) -> str:
    return since(obj.get("metadata", {}).get("creationTimestamp"), now)


def _name(obj: Obj, now: datetime) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


NAME = Column("Name", _name, format="name", description="Name of the object")
AGE = Column("Age", _age, description="Time since the object was created")




def field(*path: str, default: str = NONE) -> Callable[[Obj, datetime], str]:
    """A cell showing the value at ``path`` (``default`` when missing or empty)."""

    def cell(obj: Obj, now: datetime) -> str:
        cur: Any = obj
        for part in path:
            cur = cur.get(part) if isinstance(cur, dict) else None
        return default if cur in (None, "") else str(cur)

    return cell


def first_n(items: list[str], n: int = 3) -> str:
    """Join up to ``n`` items and count the rest, as kubectl's ``formatEndpoints``."""
    shown = ",".join(items[:n])
    if len(items) > n:
        shown += f" + {len(items) - n} more..."
    return shown
