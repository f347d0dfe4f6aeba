"""Errors of the one-machine cluster, each with a message meant for the user.

The tree::

    ClusterError
     ├── ClusterExists     a cluster is already up (berth up twice)
     ├── NoCluster         berth down/status/graph with nothing up
     ├── StateError        $BERTH_HOME/cluster.json cannot be read
     ├── PreflightError    the machine cannot host the cluster (not root, a name taken)
     └── StartupError      a process did not come up (names its log file)

``berth.cli.up`` and friends turn them into ``CliError`` at their boundary.
"""

from __future__ import annotations


class ClusterError(Exception):
    """Base of the one-machine cluster's errors."""


class ClusterExists(ClusterError):
    """A cluster is already up in this $BERTH_HOME."""


class NoCluster(ClusterError):
    """No cluster is up in this $BERTH_HOME."""


class StateError(ClusterError):
    """The state file is unreadable."""


class PreflightError(ClusterError):
    """Something on the machine stands in the way; nothing was made."""


class StartupError(ClusterError):
    """A process of the cluster did not come up."""
