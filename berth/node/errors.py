"""Errors of the node agent (``berth.node``), grouped by what the caller does about them.

Failures of one pod never stop the agent: they end up in that pod's status
(a container's waiting reason and message).  What the agent itself cannot
work without is a ``NodeConfigError`` (bad flag or file, reported before
anything starts).  The tree::

    NodeError
    ├── NodeConfigError      a flag, file or manifest is wrong (names the field/file)
    ├── VolumeError          a pod volume cannot be prepared (names the volume)
    │   └── VolumeSourceMissing   its configMap/secret/key does not exist (yet)
    ├── EnvError             an env var cannot be resolved (names the variable)
    ├── UnsupportedPod       the pod asks for something berth does not do yet (names the field)
    └── NetworkSetupError    CNI ADD/DEL failed for a pod sandbox (carries the plugin's message)
"""

from __future__ import annotations


class NodeError(Exception):
    """Base of the node agent's errors."""


class NodeConfigError(NodeError):
    """A flag, a file or a static pod manifest is wrong; the message names it."""


class VolumeError(NodeError):
    """A volume of a pod cannot be set up; the message names the volume."""


class VolumeSourceMissing(VolumeError):
    """The configMap or secret (or one of its keys) a volume needs does not exist."""


class EnvError(NodeError):
    """An environment variable of a container cannot be resolved."""


class UnsupportedPod(NodeError):
    """The pod uses a feature berth does not implement yet; the message names the field."""


class NetworkSetupError(NodeError):
    """The CNI plugins failed to set up or tear down a sandbox's network."""
