"""Errors raised by berth's host adapters (the only code that touches the kernel).

Adapters translate errno values and library exceptions into this tree at their
boundary (``raise ... from exc``), so callers above ``berth.host`` never see
pyroute2 or OSError details they would have to decode themselves::

    HostError
     ├── NetnsError            a network namespace could not be created/entered/removed
     │    └── NetnsNotFound    the named namespace (or path) does not exist
     ├── NetlinkError          a netlink request failed (carries errno)
     │    ├── LinkNotFound     no link with that name/index
     │    └── LinkExists       a link with that name already exists
     ├── NftError              the nft command refused a ruleset (carries its stderr)
     └── SysctlError           a /proc/sys value could not be written (berth.host.sysctl)

Other host adapters (runtime, mounts, nftables) add their own branches under
``HostError``.
"""

from __future__ import annotations


class HostError(Exception):
    """Base of every error raised by a host adapter."""


class NetnsError(HostError):
    """A network namespace operation failed."""


class NetnsNotFound(NetnsError):
    """The network namespace does not exist."""


class NetlinkError(HostError):
    """A netlink request failed; ``errno`` is the kernel's error number (0 if unknown)."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno


class LinkNotFound(NetlinkError):
    """No link with the given name or index exists."""


class LinkExists(NetlinkError):
    """A link with the given name already exists."""


class NftError(HostError):
    """``nft`` failed; the message carries what it printed on stderr."""
