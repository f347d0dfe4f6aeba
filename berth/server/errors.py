"""Errors of the API server's own machinery (configuration, PKI, token files).

Errors that a client sees over HTTP are `berth.api.errors.APIError` subclasses and
are turned into `v1 Status` bodies by the app's error middleware; the errors here
are raised while the server starts, before it can answer anyone, and carry a message
that names the offending file or field so `berth server` can print it without a
traceback.

    ServerError
    +-- ConfigError      a bad ServerConfig value (datastore URL, port, address)
    +-- PKIError         unreadable or inconsistent files under data_dir/pki
    +-- TokenFileError   a malformed line in the token file
    +-- BootstrapError   a malformed bootstrap token or an unreadable token store
"""

from __future__ import annotations


class ServerError(Exception):
    """Base of every start-up error of the API server."""


class ConfigError(ServerError):
    """A ServerConfig field has a value the server cannot use."""


class PKIError(ServerError):
    """The CA or serving certificate under data_dir/pki cannot be used."""


class TokenFileError(ServerError):
    """The token file has a line that is not `token,user,uid[,"group1,group2"]`."""


class BootstrapError(ServerError):
    """A bootstrap token is malformed, or the server's token store cannot be read."""
