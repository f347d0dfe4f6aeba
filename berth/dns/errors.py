"""Errors of cluster DNS.

The tree::

    DNSError                   base of everything berth.dns raises
     ├── BadConfig             a setting (domain, DNS IP, namespace) is unusable; names it
     └── ServeFailed           the server cannot listen (address in use, no permission)

Malformed queries are not errors: the server answers FORMERR or drops them.
"""

from __future__ import annotations


class DNSError(Exception):
    """Base of cluster DNS errors."""


class BadConfig(DNSError):
    """A configuration value cannot be used; the message names the field."""


class ServeFailed(DNSError):
    """The DNS server could not bind its UDP or TCP socket."""
