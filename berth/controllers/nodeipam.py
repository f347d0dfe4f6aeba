"""The node IPAM controller: gives every Node a pod subnet out of the cluster CIDR.

Each pass hands the cached Nodes to `cidrs.plan_node_cidrs` (pure) and patches
``spec.podCIDR``/``spec.podCIDRs`` of the nodes it assigned. Because the used
set is read back from the nodes themselves, a restarted server continues where
it stopped and a deleted node's subnet is reused by the next node. A node left
without a subnet because the range is exhausted gets the condition
NetworkUnavailable=True with reason CIDRNotAvailable and one CIDRNotAvailable
event; when it later receives a subnet that condition is set back to False
(the network agent on the node owns it from then on).
"""

from __future__ import annotations

import logging
from typing import Any

from berth.api.addressplan import AddressPlan
from berth.api.errors import Conflict, Invalid, NotFound
from berth.api.resources import Resource, by_key
from berth.client import Client
from berth.client.informer import Informer
from berth.controllers.cidrs import plan_node_cidrs
from berth.controllers.loop import Loop
from berth.controllers.objects import condition, new_condition, now_text, record_event

Obj = dict[str, Any]
log = logging.getLogger(__name__)
COMPONENT = "cidrAllocator"
NO_CIDR_REASON = "CIDRNotAvailable"


def _nodes() -> Resource:
    res = by_key("nodes")
    assert res is not None
    return res


class NodeIPAM:
    """Assigns node subnets; see the module docstring."""

    def __init__(self, client: Client, nodes: Informer, plan: AddressPlan) -> None:
        self.client = client
        self.nodes = nodes
        self.plan = plan
        self.loop = Loop("node-ipam", self.reconcile, [nodes])

    async def reconcile(self) -> None:
        plan = plan_node_cidrs(self.nodes.items(), self.plan)
        for name, cidr in plan.assign.items():
            await self._assign(name, cidr)
        for name in plan.exhausted:
            await self._report_exhausted(name)

    async def _assign(self, name: str, cidr: str) -> None:
        try:
            node = await self.client.patch(_nodes(), None, name,
                                           {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
        except (NotFound, Conflict, Invalid) as exc:
            log.info("node %s: subnet %s not assigned: %s", name, cidr, exc)
            return
        self.nodes.remember(node)
        log.info("node %s: pod subnet %s", name, cidr)
        cond = condition(node, "NetworkUnavailable")
        if cond is not None and cond.get("reason") == NO_CIDR_REASON:
            fixed = new_condition(node, "NetworkUnavailable", "False", "CIDRAssigned",
                                  f"Node was given the pod subnet {cidr}", now_text())
            await self._patch_condition(name, fixed)

    async def _report_exhausted(self, name: str) -> None:
        node = self.nodes.get("", name)
        if node is None:
            return
        cond = condition(node, "NetworkUnavailable")
        if cond is not None and cond.get("reason") == NO_CIDR_REASON:
            return
        message = (f"Node has no pod subnet: all {self.plan.subnet_count} "
                   f"/{self.plan.node_mask} subnets of the cluster CIDR "
                   f"{self.plan.cluster_cidr} are in use")
        unavailable = new_condition(node, "NetworkUnavailable", "True", NO_CIDR_REASON,
                                    message, now_text())
        if await self._patch_condition(name, unavailable):
            await record_event(self.client, node, "Node", NO_CIDR_REASON,
                               f"Node {name} status is now: {NO_CIDR_REASON}",
                               component=COMPONENT)

    async def _patch_condition(self, name: str, cond: Obj) -> bool:
        try:
            node = await self.client.patch(_nodes(), None, name,
                                           {"status": {"conditions": [cond]}},
                                           subresource="status")
        except (NotFound, Conflict) as exc:
            log.info("node %s: condition not written: %s", name, exc)
            return False
        self.nodes.remember(node)
        return True
