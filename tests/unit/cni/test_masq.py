"""ipMasq's nft scripts, rendered without touching the kernel."""

from __future__ import annotations

import ipaddress

from berth.cni.plugins.masq import names, plan_cleanup, plan_setup, plan_sync, plan_teardown


def test_setup_adds_the_pod_to_the_network_set_and_rebuilds_the_chain() -> None:
    chain, set4, set6 = names("podnet")
    script = plan_setup("podnet", [ipaddress.ip_interface("10.244.1.5/24"),
                                   ipaddress.ip_interface("fd00::5/64")])
    lines = script.splitlines()
    assert lines[0] == "add table inet berth-cni"
    assert f"flush chain inet berth-cni {chain}" in lines
    assert (f"add rule inet berth-cni {chain} ip saddr @{set4} ip daddr != 10.244.1.0/24 "
            "ip daddr != 224.0.0.0/4 masquerade") in lines
    assert any(f"ip6 saddr @{set6} ip6 daddr != fd00::/64" in line for line in lines)
    assert lines[-2:] == [f"add element inet berth-cni {set4} {{ 10.244.1.5 }}",
                          f"add element inet berth-cni {set6} {{ fd00::5 }}"]


def test_teardown_is_idempotent_by_adding_before_deleting() -> None:
    _, set4, _ = names("podnet")
    lines = plan_teardown("podnet", [ipaddress.ip_address("10.244.1.5")]).splitlines()
    assert lines[-2:] == [f"add element inet berth-cni {set4} {{ 10.244.1.5 }}",
                          f"delete element inet berth-cni {set4} {{ 10.244.1.5 }}"]


def test_sync_replaces_the_set_contents() -> None:
    _, set4, set6 = names("n")
    lines = plan_sync("n", [ipaddress.ip_address("10.0.0.2")]).splitlines()
    assert f"flush set inet berth-cni {set4}" in lines
    assert f"flush set inet berth-cni {set6}" in lines
    assert lines[-1] == f"add element inet berth-cni {set4} {{ 10.0.0.2 }}"


def test_cleanup_removes_only_empty_networks_and_a_bare_table() -> None:
    chain, set4, set6 = names("a")
    other_chain, other4, _ = names("b")
    mine = [{"set": {"name": set4}}, {"set": {"name": set6}}, {"chain": {"name": chain}}]
    assert plan_cleanup("a", [*mine[:1], {"set": {"name": set4, "elem": ["10.0.0.2"]}}]) == ""
    assert plan_cleanup("a", mine) == "delete table inet berth-cni\n"
    shared = plan_cleanup("a", [*mine, {"chain": {"name": other_chain}},
                                {"set": {"name": other4}}]).splitlines()
    assert shared == [f"delete chain inet berth-cni {chain}",
                      f"delete set inet berth-cni {set4}", f"delete set inet berth-cni {set6}"]


def test_names_are_safe_for_any_network_name() -> None:
    chain, set4, set6 = names("my-net.v1")
    assert chain.startswith("masq_") and set4.startswith("pods4_") and set6.startswith("pods6_")
    assert all(c.isalnum() or c == "_" for c in chain + set4 + set6)
