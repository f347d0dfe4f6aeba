"""Node subnets in a real server: assignment, restart stability, release, exhaustion."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from berth.controllers.objects import condition

Cluster = Any


async def cidr_of(cluster: Cluster, name: str) -> str:
    async def assigned() -> str:
        node = await cluster.get(cluster.NODES, None, name)
        cidr = (node.get("spec") or {}).get("podCIDR")
        assert cidr, node
        assert node["spec"]["podCIDRs"] == [cidr]
        return str(cidr)
    return str(await cluster.eventually(assigned))


async def test_subnets_are_stable_across_restart_and_reused_after_delete(
        restartable: Callable[..., Awaitable[Cluster]]) -> None:
    first = await restartable(cluster_cidr="10.200.0.0/16", node_cidr_mask=26)
    try:
        await first.add_node("a")
        assert await cidr_of(first, "a") == "10.200.0.0/26"
        await first.add_node("b")
        assert await cidr_of(first, "b") == "10.200.0.64/26"
    finally:
        await first.client.close()
        await first.server.stop()
    second = await restartable(cluster_cidr="10.200.0.0/16", node_cidr_mask=26)
    try:
        await second.add_node("c")
        assert await cidr_of(second, "c") == "10.200.0.128/26"
        assert await cidr_of(second, "a") == "10.200.0.0/26"
        await second.client.delete(second.NODES, None, "a")
        await second.add_node("d")
        assert await cidr_of(second, "d") == "10.200.0.0/26"
    finally:
        await second.client.close()
        await second.server.stop()


async def test_exhausted_range_reports_cidr_not_available(cluster: Cluster) -> None:
    # the fixture's pod network is 10.244.0.0/23: two /24 node subnets
    await cluster.add_node("a")
    await cluster.add_node("b")
    assert {await cidr_of(cluster, "a"), await cidr_of(cluster, "b")} == {
        "10.244.0.0/24", "10.244.1.0/24"}
    await cluster.add_node("c")

    async def reported() -> None:
        node = await cluster.get(cluster.NODES, None, "c")
        assert not (node.get("spec") or {}).get("podCIDR")
        cond = condition(node, "NetworkUnavailable")
        assert cond is not None and cond["status"] == "True"
        assert cond["reason"] == "CIDRNotAvailable"
        assert "10.244.0.0/23" in cond["message"]
        events = await cluster.events("CIDRNotAvailable")
        assert [e["involvedObject"]["name"] for e in events] == ["c"]

    await cluster.eventually(reported)
    await cluster.client.delete(cluster.NODES, None, "a")
    freed = "10.244.0.0/24" if await cidr_of(cluster, "b") != "10.244.0.0/24" else \
        "10.244.1.0/24"
    assert await cidr_of(cluster, "c") == freed

    async def cleared() -> None:
        node = await cluster.get(cluster.NODES, None, "c")
        cond = condition(node, "NetworkUnavailable")
        assert cond is not None and cond["status"] == "False"

    await cluster.eventually(cleared)
