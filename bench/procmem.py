"""Process memory for the benchmarks: PSS from smaps_rollup, RSS, and process trees.

PSS (proportional set size) splits a shared page among the processes that map
it, so summing PSS over a set of processes gives what that set costs the
machine, which RSS (counting shared pages in full for each) overstates.
"""

from __future__ import annotations

from pathlib import Path


def _field_kib(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid: int) -> int:
    """The process's PSS in KiB; 0 when it is gone."""
    return _field_kib(f"/proc/{pid}/smaps_rollup", "Pss:")


def rss_kib(pid: int) -> int:
    return _field_kib(f"/proc/{pid}/status", "VmRSS:")


def hwm_kib(pid: int) -> int:
    """Peak RSS so far."""
    return _field_kib(f"/proc/{pid}/status", "VmHWM:")


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
