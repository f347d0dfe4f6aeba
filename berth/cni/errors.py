"""The CNI error tree: one exception per error code of the CNI specification.

A plugin raises these anywhere below its entry point; ``berth.cni.skel`` turns
them into the spec's error JSON (``{"cniVersion", "code", "msg", "details"}``)
on stdout with a non-zero exit status.  The client turns a plugin's error JSON
back into the same classes (``error_from_code``), wrapped as ``PluginError`` so
callers also learn which plugin failed::

    CNIError(code, msg, details)
     ├── IncompatibleVersion        1   incompatible CNI version
     ├── UnsupportedField           2   unsupported field in network configuration
     ├── UnknownContainer           3   container unknown or does not exist
     ├── InvalidEnvironment         4   invalid necessary environment variables
     ├── IOFailure                  5   I/O failure
     ├── DecodeFailure              6   failed to decode content
     ├── InvalidConfig              7   invalid network config
     │    └── NetworkNotFound           (client) no configuration with that name
     ├── TryAgainLater             11   try again later
     ├── PluginNotAvailable        50   STATUS: cannot service ADD requests
     ├── LimitedConnectivity       51   STATUS: not available, existing pods may suffer
     ├── CheckFailed              100   CHECK found the attachment not as prevResult says
     ├── InternalError            999   anything unexpected
     └── PluginError                    (client) a plugin failed; keeps its code/msg/details
          ├── PluginNotFound            the plugin binary is in no CNI_PATH directory
          └── PluginTimeout             the plugin did not finish in time (code 11)
"""

from __future__ import annotations

from typing import Any

CODE_INCOMPATIBLE_VERSION = 1
CODE_UNSUPPORTED_FIELD = 2
CODE_UNKNOWN_CONTAINER = 3
CODE_INVALID_ENVIRONMENT = 4
CODE_IO_FAILURE = 5
CODE_DECODE_FAILURE = 6
CODE_INVALID_CONFIG = 7
CODE_TRY_AGAIN_LATER = 11
CODE_NOT_AVAILABLE = 50
CODE_LIMITED_CONNECTIVITY = 51
CODE_CHECK_FAILED = 100
CODE_INTERNAL = 999


class CNIError(Exception):
    """A failure with a CNI error code, a short message and optional details."""

    code = CODE_INTERNAL

    def __init__(self, msg: str, details: str = "", *, code: int | None = None) -> None:
        super().__init__(msg if not details else f"{msg}: {details}")
        self.msg = msg
        self.details = details
        if code is not None:
            self.code = code

    def to_dict(self, cni_version: str) -> dict[str, Any]:
        """The error as the spec's JSON object."""
        out: dict[str, Any] = {"cniVersion": cni_version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out


class IncompatibleVersion(CNIError):
    code = CODE_INCOMPATIBLE_VERSION


class UnsupportedField(CNIError):
    code = CODE_UNSUPPORTED_FIELD


class UnknownContainer(CNIError):
    code = CODE_UNKNOWN_CONTAINER


class InvalidEnvironment(CNIError):
    code = CODE_INVALID_ENVIRONMENT


class IOFailure(CNIError):
    code = CODE_IO_FAILURE


class DecodeFailure(CNIError):
    code = CODE_DECODE_FAILURE


class InvalidConfig(CNIError):
    code = CODE_INVALID_CONFIG


class NetworkNotFound(InvalidConfig):
    """The client found no network configuration with the requested name."""


class TryAgainLater(CNIError):
    code = CODE_TRY_AGAIN_LATER


class PluginNotAvailable(CNIError):
    code = CODE_NOT_AVAILABLE


class LimitedConnectivity(CNIError):
    code = CODE_LIMITED_CONNECTIVITY


class CheckFailed(CNIError):
    """CHECK found an interface, address or route missing or different (plugin code 100)."""

    code = CODE_CHECK_FAILED


class InternalError(CNIError):
    code = CODE_INTERNAL


class PluginError(CNIError):
    """A plugin run by the client failed; ``code``/``msg``/``details`` are the plugin's own."""

    def __init__(self, plugin: str, msg: str, details: str = "", *, code: int) -> None:
        super().__init__(msg, details, code=code)
        self.plugin = plugin

    def __str__(self) -> str:
        text = f"plugin {self.plugin} failed (code {self.code}): {self.msg}"
        return f"{text}: {self.details}" if self.details else text


class PluginNotFound(PluginError):
    """The plugin binary is not in any of the client's CNI bin directories."""

    def __init__(self, plugin: str, dirs: list[str]) -> None:
        super().__init__(
            plugin, f"failed to find plugin {plugin!r} in path {dirs}", code=CODE_INVALID_CONFIG
        )


class PluginTimeout(PluginError):
    """The plugin did not finish within the client's timeout; it was killed."""

    def __init__(self, plugin: str, command: str, timeout: float) -> None:
        super().__init__(
            plugin, f"{command} timed out after {timeout:g}s", code=CODE_TRY_AGAIN_LATER
        )


_BY_CODE: dict[int, type[CNIError]] = {
    cls.code: cls
    for cls in (
        IncompatibleVersion,
        UnsupportedField,
        UnknownContainer,
        InvalidEnvironment,
        IOFailure,
        DecodeFailure,
        InvalidConfig,
        TryAgainLater,
        PluginNotAvailable,
        LimitedConnectivity,
    )
}


def error_from_code(code: int, msg: str, details: str = "") -> CNIError:
    """The exception class the spec's code stands for (``CNIError`` for others)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return CNIError(msg, details, code=code)
    return cls(msg, details)
