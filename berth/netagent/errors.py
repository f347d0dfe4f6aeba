"""Errors of the network agent, grouped by what the caller should do.

Configuration errors are permanent (fix the flag or the cluster settings and
start again); apply errors wrap a ``berth.host`` failure and are retried by
the reconcile loop at the next resync::

    NetAgentError
     ├── NetConfigError     bad agent/cluster settings (names the field)
     │    └── MtuTooSmall   the underlay MTU leaves too little room for VXLAN's 50 bytes
     └── ApplyError         the kernel refused a change (wraps a HostError)
"""

from __future__ import annotations


class NetAgentError(Exception):
    """Base of the network agent's errors."""


class NetConfigError(NetAgentError):
    """The agent's or the cluster's network settings cannot be used."""


class MtuTooSmall(NetConfigError):
    """The underlay MTU minus the VXLAN overhead is below the IPv4 minimum."""


class ApplyError(NetAgentError):
    """Applying a planned change to the kernel failed."""
