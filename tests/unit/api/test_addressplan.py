"""The cluster's address plan: checked once, every error naming its flag, one subnet helper."""

from __future__ import annotations

import pytest

from berth.api.addressplan import (
    DEFAULT_PLAN,
    AddressPlan,
    AddressPlanError,
    MtuTooSmall,
    parse_port_range,
)


def test_defaults_are_the_documented_ones() -> None:
    plan = AddressPlan.parse()
    assert plan == DEFAULT_PLAN
    assert str(plan.cluster_cidr) == "10.244.0.0/16" and str(plan.service_cidr) == "10.96.0.0/12"
    assert (plan.node_mask, plan.node_port_range) == (24, (30000, 32767))
    assert (str(plan.dns_ip), plan.cluster_domain) == ("10.96.0.10", "cluster.local")
    assert plan.pod_mtu == 1450
    assert AddressPlan.parse(backend="host-gw").pod_mtu == 1500


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"cluster_cidr": "10.244.0.0/16", "node_mask": 8},
     ["--node-cidr-mask-size", "/8", "larger than the cluster CIDR 10.244.0.0/16"]),
    ({"cluster_cidr": "10.244.0.0/24"}, ["--node-cidr-mask-size", "must be longer"]),
    ({"node_mask": 16}, ["--node-cidr-mask-size"]),
    ({"node_mask": 40}, ["--node-cidr-mask-size", "1-32"]),
    ({"cluster_cidr": "10.0.0.0/8", "service_cidr": "10.96.0.0/12"},
     ["--service-cidr", "overlaps --pod-network-cidr 10.0.0.0/8"]),
    ({"cluster_cidr": "10.96.0.0/16"}, ["--service-cidr", "overlaps"]),
    ({"cluster_cidr": "10.244.0.0/33"}, ["--pod-network-cidr", "'10.244.0.0/33'"]),
    ({"cluster_cidr": "10.244.0.1/16"}, ["--pod-network-cidr", "not a CIDR"]),
    ({"service_cidr": "10.96.0.1/12"}, ["--service-cidr", "not a CIDR"]),
    ({"service_cidr": "nonsense"}, ["--service-cidr"]),
    ({"service_cidr": "fd00::/108"}, ["--service-cidr", "different IP families"]),
    ({"node_port_range": (32767, 30000)}, ["--service-node-port-range"]),
    ({"node_port_range": "30000"}, ["--service-node-port-range", "port range"]),
    ({"backend": "ipip"}, ["--backend", "vxlan, host-gw"]),
    ({"dns_ip": "10.0.0.10"}, ["--cluster-dns", "not inside --service-cidr"]),
    ({"dns_ip": "dns"}, ["--cluster-dns", "not an IP address"]),
    ({"cluster_domain": "."}, ["--cluster-domain", "empty"]),
    ({"underlay": "10.244.0.0/24"}, ["--underlay", "overlaps"]),
    ({"underlay": "fd00::/64"}, ["--underlay", "IPv4"]),
])
def test_bad_settings_name_the_flag(kwargs: dict[str, object], words: list[str]) -> None:
    with pytest.raises(AddressPlanError) as err:
        AddressPlan.parse(**kwargs)  # type: ignore[arg-type]
    assert str(err.value).startswith(words[0])
    for word in words[1:]:
        assert word in str(err.value)


def test_underlay_mtu_too_small_for_vxlan_but_fine_for_host_gw() -> None:
    with pytest.raises(MtuTooSmall, match="--underlay-mtu: 600 leaves 550"):
        AddressPlan.parse(underlay_mtu=600)
    assert AddressPlan.parse(underlay_mtu=600, backend="host-gw").pod_mtu == 600


def test_node_subnets_split_the_cluster_range_until_it_is_used_up() -> None:
    plan = AddressPlan.parse("10.244.0.0/23", node_mask=24)
    assert [str(plan.node_subnet(i)) for i in (0, 1)] == ["10.244.0.0/24", "10.244.1.0/24"]
    assert plan.subnet_count == 2
    with pytest.raises(AddressPlanError, match="room for 2 node subnets"):
        plan.node_subnet(2)
    assert plan.subnet_index("10.244.1.0/24") == 1
    assert plan.subnet_index("10.244.1.0/25") is None
    assert plan.subnet_index("192.168.0.0/24") is None


def test_ipv6_plans_are_valid_but_the_network_agent_refuses_them() -> None:
    v6 = AddressPlan.parse("fd00:10::/56", "fd00:96::/108", node_mask=64)
    assert str(v6.node_subnet(2)) == "fd00:10:0:2::/64"
    assert str(v6.dns_ip) == "fd00:96::a"
    with pytest.raises(AddressPlanError, match=r"^--pod-network-cidr: .* only IPv4"):
        v6.require_ipv4()


def test_a_small_service_range_has_no_dns_address_unless_one_is_named() -> None:
    small = AddressPlan.parse(service_cidr="10.96.0.0/29")
    assert small.dns_ip is None
    with pytest.raises(AddressPlanError, match=r"^--service-cidr: .* give --cluster-dns"):
        small.require_dns_ip()
    named = AddressPlan.parse(service_cidr="10.96.0.0/29", dns_ip="10.96.0.3")
    assert str(named.require_dns_ip()) == "10.96.0.3"


def test_the_stored_plan_round_trips_and_old_documents_get_defaults() -> None:
    plan = AddressPlan.parse("10.200.0.0/16", "10.100.0.0/16", 26, "host-gw", 9000,
                             node_port_range="31000-31999", dns_ip="10.100.0.53",
                             cluster_domain="corp.example", underlay="198.18.4.0/24")
    assert AddressPlan.from_doc(plan.to_doc()) == plan
    old = {"podCIDR": "10.244.0.0/16", "serviceCIDR": "10.96.0.0/12", "nodeMask": 24,
           "backend": "vxlan", "underlayMTU": 1500}
    assert AddressPlan.from_doc(old) == DEFAULT_PLAN


def test_port_range_parsing() -> None:
    assert parse_port_range("30000-32767") == (30000, 32767)
    with pytest.raises(AddressPlanError, match="--service-node-port-range"):
        parse_port_range("30000")
