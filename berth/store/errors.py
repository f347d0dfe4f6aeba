"""Errors of the datastore layer.

A store raises `berth.api.errors` types for everything a client can cause
(NotFound, AlreadyExists, Conflict, Gone/Expired, BadRequest for a bad
continue token or resourceVersion), so the server passes them on unchanged.
The few store-only conditions below still sit in that tree where a client can
see them, and outside it where only the operator can (a bad datastore URL).

The tree::

    Exception
     ├── StoreConfigError (ValueError)   bad datastore URL / options (names the field)
     └── berth.api.errors.APIError
          ├── Gone (410, reason Expired)
          │    └── WatchOverflow           a watcher fell too far behind; relist
          └── ServiceUnavailable (503)
               └── StoreUnavailable        no datastore endpoint answers

The functions below build the client-visible errors with Kubernetes' wording.
"""

from __future__ import annotations

from berth.api.errors import (
    BadRequest,
    Conflict,
    Gone,
    ServiceUnavailable,
    conflict,
    expired,
)


class StoreConfigError(ValueError):
    """The datastore URL or an option cannot be used; the message names it."""


class WatchOverflow(Gone):
    """The watch's bounded buffer overflowed: the consumer must list again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="Expired")


class StoreUnavailable(ServiceUnavailable):
    """Every datastore endpoint failed (etcd members down or unreachable)."""


def too_old(requested: int, oldest: int) -> Gone:
    """A watch from a compacted revision, worded as Kubernetes does."""
    return expired(f"too old resource version: {requested} ({oldest})")


def continue_expired() -> Gone:
    return expired(
        "The provided continue parameter is too old to display a consistent list result. "
        "You can start a new list without the continue parameter.")


def bad_continue(why: str) -> BadRequest:
    return BadRequest(f"continue: invalid continue token: {why}")


def bad_resource_version(value: str) -> BadRequest:
    return BadRequest(f'resourceVersion: Invalid value: "{value}": must be an integer')


def precondition_failed(resource: str, name: str, wanted: str, stored: int) -> Conflict:
    return conflict(resource, name, (
        f"the ResourceVersion in the precondition ({wanted}) does not match the "
        f"ResourceVersion in record ({stored}). The object might have been modified"))
