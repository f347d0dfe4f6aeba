"""Errors the ``berth`` command reports itself, before or beside the API server.

Every failure ends as one line (or one block, for validation causes) on stderr
and exit code 1; ``berth.cli.output.describe_error`` words each kind. The
errors below are the CLI's own; API errors (``berth.api.errors``) and client
errors (``berth.client.errors``) pass through unchanged.

The tree::

    CliError
     ├── UsageError        bad arguments (unknown kind, -o format, conflicting flags)
     └── ManifestError     a manifest file cannot be read or decoded (names file/document)
"""

from __future__ import annotations


class CliError(Exception):
    """A failure the CLI explains in its own words."""


class UsageError(CliError):
    """The command line asks for something that cannot be done."""


class ManifestError(CliError):
    """A manifest file or document is unusable; the message names where."""
