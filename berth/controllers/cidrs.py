"""Pure planning for the node IPAM controller: which node gets which pod subnet.

The cluster CIDR is cut into equal subnets of the node mask, numbered from the
start of the range (the numbering is the address plan's, ``berth.api.addressplan``). `plan_node_cidrs` takes every Node as the API has it and
returns what to write: the used set is derived from the nodes' own
``spec.podCIDR`` each time, so the allocation survives a server restart and a
deleted node's subnet is free again as soon as the node is gone. Nodes without a
subnet are served oldest first, lowest free subnet first; those that find none
are listed as exhausted (the controller then reports CIDRNotAvailable).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from berth.api.addressplan import AddressPlan

Obj = dict[str, Any]


@dataclass(frozen=True)
class CIDRPlan:
    """Subnets to assign (node name -> CIDR text) and nodes left without one."""

    assign: dict[str, str] = field(default_factory=dict)
    exhausted: tuple[str, ...] = ()


def _age_key(node: Obj) -> tuple[str, str]:
    meta = node.get("metadata") or {}
    return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")


def plan_node_cidrs(nodes: Iterable[Obj], plan: AddressPlan) -> CIDRPlan:
    """Assign a free subnet of ``plan``'s cluster CIDR to every node that has none (pure)."""
    used: set[int] = set()
    waiting: list[Obj] = []
    for node in nodes:
        cidr = (node.get("spec") or {}).get("podCIDR")
        if cidr:
            index = plan.subnet_index(str(cidr))
            if index is not None:
                used.add(index)
        elif not (node.get("metadata") or {}).get("deletionTimestamp"):
            waiting.append(node)
    total = plan.subnet_count
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
        assign[name] = str(plan.node_subnet(candidate))
        used.add(candidate)
    return CIDRPlan(assign, tuple(exhausted))
