"""The conntrack adapter: delete connection-tracking entries with the ``conntrack`` tool.

The proxy deletes UDP entries whose DNAT points at a backend that went away;
callers say which entries with keyword filters and this module turns them into
``conntrack -D`` arguments (``conntrack_args``, pure) and runs the tool in the
calling thread's network namespace (``delete_udp_entries``).  "No entry
matched" is success; any other failure is a ``ConntrackError``.
"""

from __future__ import annotations

import subprocess

from berth.host.errors import HostError

CONNTRACK = "conntrack"


class ConntrackError(HostError):
    """The conntrack tool failed (missing, or refused the filter); carries its stderr."""


def conntrack_args(*, orig_dst: str | None = None, orig_port: int | None = None,
                   dst_nat: str | None = None) -> list[str]:
    """The argv deleting UDP entries that match every given filter."""
    argv = [CONNTRACK, "-D", "-p", "udp"]
    if orig_dst:
        argv += ["--orig-dst", orig_dst]
    if orig_port:
        argv += ["--orig-port-dst", str(orig_port)]
    if dst_nat:
        argv += ["--dst-nat", dst_nat]
    return argv


def delete_udp_entries(*, orig_dst: str | None = None, orig_port: int | None = None,
                       dst_nat: str | None = None) -> int:
    """Delete matching UDP entries; returns how many conntrack reports deleted."""
    argv = conntrack_args(orig_dst=orig_dst, orig_port=orig_port, dst_nat=dst_nat)
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConntrackError(f"cannot run {CONNTRACK}: {exc}") from exc
    err = proc.stderr.decode(errors="replace")
    if proc.returncode == 0 or "0 flow entries" in err:
        return _count(err)
    raise ConntrackError(f"{' '.join(argv)}: {err.strip()}")


def _count(stderr: str) -> int:
    for line in stderr.splitlines():
        words = line.split()
        if "flow" in words and words[0].isdigit():
            return int(words[0])
    return 0
