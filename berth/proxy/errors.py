"""Errors of the service proxy, grouped by what the caller should do.

The tree::

    ProxyError                 base of everything the proxy raises
     └── SyncFailed            the kernel refused a ruleset or a conntrack deletion;
                               the next sync rebuilds the whole table

Lower-layer failures (``berth.host.errors.NftError``, ``ConntrackError``) are
translated at the boundary with ``raise ... from exc``.  Services the data path
cannot serve (bad ports, ExternalName, headless) are not errors: the planner
leaves them out, as kube-proxy does.
"""

from __future__ import annotations


class ProxyError(Exception):
    """Base of the proxy's errors."""


class SyncFailed(ProxyError):
    """Programming the node's table failed; the message carries the kernel's words."""
