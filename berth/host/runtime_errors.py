"""Errors raised by berth's container-runtime adapters in ``berth.host``.

The OCI runtime adapter (``oci``), the mount helpers (``mounts``), the cgroup
helpers (``cgroups``) and the helper-binary builder (``helpers``) translate
errno values and runtime error text into this tree at their boundary, so the
layers above never parse stderr or errno themselves::

    HostError (berth.host.errors)
    └── HostRuntimeError
        ├── OCIRuntimeError              a runc/crun command failed
        │   ├── ContainerNotFound        the runtime does not know the container id
        │   ├── ContainerExists          the id is already taken
        │   └── RuntimeTimeout           the command did not finish in time
        ├── MountError                   mount(2)/umount(2) or netns pinning failed
        ├── CgroupError                  a cgroup file or directory could not be used
        └── HelperBuildError             pause/monitor could not be compiled or found
"""

from __future__ import annotations

from berth.host.errors import HostError


class HostRuntimeError(HostError):
    """Base of every error of the container-runtime adapters."""


class OCIRuntimeError(HostRuntimeError):
    """An OCI runtime command failed; ``stderr`` holds what the runtime said."""

    def __init__(self, command: list[str], message: str) -> None:
        self.command = command
        self.message = message.strip()
        verb = next((a for a in command if a in _VERBS), command[0] if command else "?")
        super().__init__(f"{verb}: {self.message or 'failed without a message'}")


_VERBS = {"create", "start", "state", "kill", "delete", "exec", "list", "run"}


class ContainerNotFound(OCIRuntimeError):
    """The runtime has no container with this id."""


class ContainerExists(OCIRuntimeError):
    """A container with this id already exists in the runtime."""


class RuntimeTimeout(OCIRuntimeError):
    """The runtime command (or an exec'd process) ran past its timeout."""


class MountError(HostRuntimeError):
    """A mount, unmount or namespace pin failed; the message names the path."""


class CgroupError(HostRuntimeError):
    """A cgroup directory or control file could not be read or written."""


class HelperBuildError(HostRuntimeError):
    """A helper binary (berth-pause, berth-monitor) is missing and cannot be built."""
