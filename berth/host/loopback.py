"""Bringing up ``lo`` inside a network namespace, without netlink or a subprocess.

A pod's network namespace starts with its loopback link down, and containers
of one pod talk over 127.0.0.1, so the sandbox needs ``lo`` up even when no
CNI network is configured.  This sets IFF_UP with the SIOCGIFFLAGS /
SIOCSIFFLAGS ioctls on a socket opened inside the namespace
(``berth.host.netns.entered`` switches only the calling thread).
"""

from __future__ import annotations

import fcntl
import socket
import struct

from berth.host import netns
from berth.host.errors import NetnsError

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def set_loopback_up(netns_path: str) -> None:
    """Set ``lo`` up in the namespace at ``netns_path`` (idempotent)."""
    with netns.entered(netns_path), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            request = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
            if not flags & IFF_UP:
                fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
        except OSError as exc:
            raise NetnsError(f"set lo up in {netns_path}: {exc.strerror}") from exc
