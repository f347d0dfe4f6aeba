"""Node subnets: derived from the nodes themselves, lowest free first, oldest node first."""

from __future__ import annotations

from typing import Any

from berth.api.addressplan import AddressPlan
from berth.controllers.cidrs import plan_node_cidrs

CLUSTER = AddressPlan.parse("10.244.0.0/22", node_mask=24)


def node(name: str, cidr: str | None = None, created: str = "2024-01-01T00:00:00Z") -> \
        dict[str, Any]:
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
    return {"metadata": {"name": name, "creationTimestamp": created}, "spec": spec}


def test_new_nodes_get_the_lowest_free_subnets_oldest_first() -> None:
    plan = plan_node_cidrs([node("b", created="2024-01-02T00:00:00Z"),
                            node("a", "10.244.0.0/24"),
                            node("c", created="2024-01-01T00:00:00Z")], CLUSTER)
    assert plan.assign == {"c": "10.244.1.0/24", "b": "10.244.2.0/24"}
    assert plan.exhausted == ()


def test_a_deleted_nodes_subnet_is_reused() -> None:
    plan = plan_node_cidrs([node("a", "10.244.0.0/24"), node("c", "10.244.2.0/24"),
                            node("d")], CLUSTER)
    assert plan.assign == {"d": "10.244.1.0/24"}


def test_exhausted_range_leaves_nodes_without_subnet() -> None:
    nodes = [node(f"n{i}", f"10.244.{i}.0/24") for i in range(4)] + [node("late")]
    plan = plan_node_cidrs(nodes, CLUSTER)
    assert plan.assign == {}
    assert plan.exhausted == ("late",)


def test_foreign_subnets_are_ignored_and_mask_is_honoured() -> None:
    plan = plan_node_cidrs([node("x", "192.168.0.0/24"), node("y")],
                           AddressPlan.parse("10.244.0.0/22", node_mask=26))
    assert plan.assign == {"y": "10.244.0.0/26"}


def test_subnet_numbering_round_trips() -> None:
    assert str(CLUSTER.node_subnet(3)) == "10.244.3.0/24"
    assert CLUSTER.subnet_index("10.244.3.0/24") == 3
    assert CLUSTER.subnet_index("10.244.3.0/25") is None
    assert CLUSTER.subnet_index("not-a-cidr") is None
    v6 = AddressPlan.parse("fd00:10::/56", "fd00:96::/108", node_mask=64)
    assert str(v6.node_subnet(2)) == "fd00:10:0:2::/64"
