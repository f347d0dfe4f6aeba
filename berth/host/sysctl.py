"""Kernel parameters under /proc/sys, for the calling thread's network namespace.

/proc/sys/net resolves against the namespace of the task that opens it, so a
plugin (or a thread that entered a namespace) changes its own namespace's
values.  Writes are skipped when the value is already right.
"""

from __future__ import annotations

import os

from berth.host.errors import HostError


class SysctlError(HostError):
    """A /proc/sys value could not be read or written."""


def sysctl_path(key: str) -> str:
    """``net.ipv4.conf.cni0.route_localnet`` -> /proc/sys/net/ipv4/conf/cni0/route_localnet."""
    parts = key.split(".")
    if parts[:3] == ["net", "ipv4", "conf"] or parts[:3] == ["net", "ipv6", "conf"]:
        # interface names may contain dots: keep everything between conf and the last part
        parts = [*parts[:3], ".".join(parts[3:-1]), parts[-1]]
    return os.path.join("/proc/sys", *parts)


def set_sysctl(key: str, value: str) -> None:
    path = sysctl_path(key)
    try:
        with open(path, "r+") as f:
            if f.read().strip() != value:
                f.seek(0)
                f.write(value)
    except OSError as exc:
        raise SysctlError(f"set {key}={value}: {exc.strerror}") from exc
