"""Errors of the network agent, grouped by what the caller should do.

Configuration errors are permanent (fix the flag or the cluster settings and
start again); apply errors wrap a ``berth.host`` failure and are retried by
the reconcile loop at the next resync::

    NetAgentError
     ├── NetConfigError     bad agent settings (names the field; the cluster-wide
     │                      ones are checked by berth.api.addressplan)
     └── ApplyError         the kernel refused a change (wraps a HostError)
"""

from __future__ import annotations


class NetAgentError(Exception):
    """Base of the network agent's errors."""


class NetConfigError(NetAgentError):
    """The agent's own network settings cannot be used."""


class ApplyError(NetAgentError):
    """Applying a planned change to the kernel failed."""
