"""Errors of the control-plane controllers, grouped by what the caller should do.

Configuration problems are the address plan's (`berth.api.addressplan`), checked
before the server starts; allocation problems in the Service create path are reported to the API
client as ordinary `berth.api.errors.Invalid` (422) or `InternalError` (500)
values, so they are not part of this tree. The tree::

    ControllerError

A full range is not an exception here: a node without a subnet gets a
CIDRNotAvailable condition and event, a Service create gets Kubernetes'
500 "failed to allocate a serviceIP: range is full".
"""

from __future__ import annotations


class ControllerError(Exception):
    """Base of the controllers' own failures."""
