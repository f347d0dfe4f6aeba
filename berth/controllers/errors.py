"""Errors of the control-plane controllers, grouped by what the caller should do.

Configuration problems stop `berth server` at start with one line naming the
flag; allocation problems in the Service create path are reported to the API
client as ordinary `berth.api.errors.Invalid` (422) or `InternalError` (500)
values, so they are not part of this tree. The tree::

    ControllerError
     ├── ControllerConfigError   a bad --pod-network-cidr / --service-cidr /
     │                           --node-cidr-mask-size / --service-node-port-range
     └── RangeFull               a range (service IPs, node ports, node subnets) has
                                 no free entry left
"""

from __future__ import annotations


class ControllerError(Exception):
    """Base of the controllers' own failures."""


class ControllerConfigError(ControllerError):
    """The controller configuration cannot be used; the message names the flag."""


class RangeFull(ControllerError):
    """Every entry of a range is taken."""
