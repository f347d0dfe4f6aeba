"""Pure planning for the node IPAM controller: which node gets which pod subnet.

The cluster CIDR is cut into equal subnets of the node mask, numbered from the
start of the range. `plan_node_cidrs` takes every Node as the API has it and
returns what to write: the used set is derived from the nodes' own
``spec.podCIDR`` each time, so the allocation survives a server restart and a
deleted node's subnet is free again as soon as the node is gone. Nodes without a
subnet are served oldest first, lowest free subnet first; those that find none
are listed as exhausted (the controller then reports CIDRNotAvailable).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from berth.controllers.config import Network

Obj = dict[str, Any]


@dataclass(frozen=True)
class CIDRPlan:
    """Subnets to assign (node name -> CIDR text) and nodes left without one."""

    assign: dict[str, str] = field(default_factory=dict)
    exhausted: tuple[str, ...] = ()


def subnet_count(cluster: Network, mask: int) -> int:
    return 1 << (mask - cluster.prefixlen)


def subnet_at(cluster: Network, mask: int, index: int) -> Network:
    """The index-th subnet of size /mask inside ``cluster``."""
    size = 1 << (cluster.max_prefixlen - mask)
    base = int(cluster.network_address) + index * size
    return ipaddress.ip_network((base, mask))


def subnet_index(cluster: Network, mask: int, cidr: str) -> int | None:
    """The index of ``cidr`` if it is one of the cluster's node subnets, else None."""
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return None
    if net.version != cluster.version or net.prefixlen != mask:
        return None
    if not net.subnet_of(cluster):  # type: ignore[arg-type]
        return None
    size = 1 << (cluster.max_prefixlen - mask)
    return (int(net.network_address) - int(cluster.network_address)) // size


def _age_key(node: Obj) -> tuple[str, str]:
    meta = node.get("metadata") or {}
    return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")


def plan_node_cidrs(nodes: Iterable[Obj], cluster: Network, mask: int) -> CIDRPlan:
    """Assign a free subnet to every node that has none (pure)."""
    used: set[int] = set()
    waiting: list[Obj] = []
    for node in nodes:
        cidr = (node.get("spec") or {}).get("podCIDR")
        if cidr:
            index = subnet_index(cluster, mask, str(cidr))
            if index is not None:
                used.add(index)
        elif not (node.get("metadata") or {}).get("deletionTimestamp"):
            waiting.append(node)
    total = subnet_count(cluster, mask)
    assign: dict[str, str] = {}
    exhausted: list[str] = []
    candidate = 0
    for node in sorted(waiting, key=_age_key):
        while candidate < total and candidate in used:
            candidate += 1
        name = str((node.get("metadata") or {}).get("name") or "")
        if candidate >= total:
            exhausted.append(name)
            continue
        assign[name] = str(subnet_at(cluster, mask, candidate))
        used.add(candidate)
    return CIDRPlan(assign, tuple(exhausted))
