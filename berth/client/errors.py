"""Errors of the client layer that are not the API server's own.

The server's refusals arrive as a ``Status`` and are raised as the matching
``berth.api.errors`` type (``NotFound``, ``Invalid``, ...). What can go wrong
before a Status exists is raised from here, so callers (the CLI, the node
agent) can tell "the server said no" from "we never reached it".

The tree::

    ClientError
     ├── KubeconfigError      missing/unreadable kubeconfig, unknown context, bad field
     └── ConnectionFailed     the server cannot be reached (refused, TLS, DNS, timeout)
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of the client-side failures."""


class KubeconfigError(ClientError):
    """The kubeconfig cannot be used; the message names the file and the field."""


class ConnectionFailed(ClientError):
    """The API server at ``server`` did not answer; ``reason`` says what the socket said."""

    def __init__(self, server: str, reason: str) -> None:
        super().__init__(f"cannot reach the berth API server at {server}: {reason}")
        self.server = server
        self.reason = reason
