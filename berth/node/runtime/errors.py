"""Errors of the RuntimeService (``berth.node.runtime``), grouped by what the agent does.

The agent maps them to Kubernetes container reasons: ``CreateContainerError``
and ``RunContainerError`` carry the cause in their message, ``ImageNotFound``
becomes ErrImagePull, ``NotFound`` means the object is already gone::

    RuntimeServiceError
    ├── NotFound               no sandbox/container with this id
    ├── InvalidConfig          a config field is missing or wrong (names the field)
    ├── ImageNotFound          the container's image is not in the local store
    ├── SandboxNotReady        the sandbox is stopped; containers cannot be created in it
    ├── SandboxSetupError      netns, network hook or pause could not be set up
    ├── CreateContainerError   bundle, rootfs or `runc create` failed
    ├── RunContainerError      `runc start` (or an exec) failed
    └── ExecTimeout            an exec ran past its timeout (the process was killed)
"""

from __future__ import annotations


class RuntimeServiceError(Exception):
    """Base of the runtime service's errors."""


class NotFound(RuntimeServiceError):
    """No pod sandbox or container with this id."""


class InvalidConfig(RuntimeServiceError):
    """A sandbox or container config field is invalid; the message names it."""


class ImageNotFound(RuntimeServiceError):
    """The image is not in the local image store."""


class SandboxNotReady(RuntimeServiceError):
    """The sandbox is not ready (stopped, or its pause process is gone)."""


class SandboxSetupError(RuntimeServiceError):
    """Setting up the sandbox's namespaces, network or pause process failed."""


class CreateContainerError(RuntimeServiceError):
    """Creating the container failed; nothing of it is left behind."""


class RunContainerError(RuntimeServiceError):
    """Starting the created container failed."""


class ExecTimeout(RuntimeServiceError):
    """An exec'd command ran past its timeout; it has been killed."""
