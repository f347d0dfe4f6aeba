"""Choosing free TCP ports on 127.0.0.1: for clusters, etcd members, tests and benchmarks.

``berth up --port P`` also binds P+1 (the join service), so a caller that picks
P for it must know both are free: ``free_port(count=2)`` returns the first of
``count`` consecutive ports that were all free a moment ago.  "A moment ago" is
all anyone can promise without holding the sockets; the caller binds them soon.
"""

from __future__ import annotations

import contextlib
import socket

HOST = "127.0.0.1"


def free_port(count: int = 1, host: str = HOST, attempts: int = 100) -> int:
    """The first of ``count`` consecutive TCP ports on ``host`` that are all free now."""
    for _ in range(attempts):
        with contextlib.ExitStack() as stack:
            first = stack.enter_context(socket.socket())
            first.bind((host, 0))
            port = int(first.getsockname()[1])
            if port + count - 1 > 65535:
                continue
            try:
                for extra in range(1, count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind((host, port + extra))
            except OSError:
                continue
            return port
    raise OSError(f"no {count} consecutive free TCP ports on {host} after {attempts} tries")
