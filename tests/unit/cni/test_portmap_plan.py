"""portmap's mappings and nft rules, rendered without touching the kernel."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from berth.cni.errors import InvalidConfig
from berth.cni.plugins.portmap_plan import (
    PortMapping,
    parse_port_mappings,
    plan_add,
    plan_rules,
    rules_of,
)

POD = [ipaddress.ip_interface("10.244.1.5/24"), ipaddress.ip_interface("fd00::5/64")]


def test_mappings_default_to_tcp_and_any_host_ip() -> None:
    got = parse_port_mappings({"portMappings": [
        {"hostPort": 8080, "containerPort": 80},
        {"hostPort": 53, "containerPort": 53, "protocol": "UDP", "hostIP": "0.0.0.0"},
        {"hostPort": 81, "containerPort": 80, "hostIP": "10.0.0.1"}]})
    assert got == [PortMapping(8080, 80), PortMapping(53, 53, "udp"),
                   PortMapping(81, 80, "tcp", ipaddress.ip_address("10.0.0.1"))]


@pytest.mark.parametrize(
    ("mapping", "needle"),
    [
        ({"containerPort": 80}, "runtimeConfig.portMappings[0].hostPort"),
        ({"hostPort": 70000, "containerPort": 80}, "runtimeConfig.portMappings[0].hostPort"),
        ({"hostPort": 80, "containerPort": "80"}, "runtimeConfig.portMappings[0].containerPort"),
        ({"hostPort": 80, "containerPort": 80, "protocol": "icmp"}, ".protocol"),
        ({"hostPort": 80, "containerPort": 80, "hostIP": "nope"}, ".hostIP"),
    ],
)
def test_bad_mappings_name_the_field(mapping: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        parse_port_mappings({"portMappings": [mapping]})
    assert needle in info.value.msg


def test_rules_per_family_with_snat_marks() -> None:
    rules = plan_rules([PortMapping(8080, 80)], POD, "c1/eth0", snat=True)
    assert rules == [
        'add rule inet berth-hostport hostports meta nfproto ipv4 meta l4proto tcp th dport 8080 '
        'ip saddr { 127.0.0.0/8, 10.244.1.5 } ct mark set ct mark or 0x2000 comment "c1/eth0"',
        'add rule inet berth-hostport hostports meta nfproto ipv4 meta l4proto tcp th dport 8080 '
        'dnat ip to 10.244.1.5:80 comment "c1/eth0"',
        'add rule inet berth-hostport hostports meta nfproto ipv6 meta l4proto tcp th dport 8080 '
        'ip6 saddr { ::1, fd00::5 } ct mark set ct mark or 0x2000 comment "c1/eth0"',
        'add rule inet berth-hostport hostports meta nfproto ipv6 meta l4proto tcp th dport 8080 '
        'dnat ip6 to [fd00::5]:80 comment "c1/eth0"',
    ]


def test_host_ip_limits_the_family_and_destination() -> None:
    rules = plan_rules([PortMapping(81, 80, "udp", ipaddress.ip_address("10.0.0.1"))], POD,
                       "c1/eth0", snat=False)
    assert rules == ['add rule inet berth-hostport hostports ip daddr 10.0.0.1 meta l4proto udp '
                     'th dport 81 dnat ip to 10.244.1.5:80 comment "c1/eth0"']


def test_repeated_add_replaces_the_old_rules() -> None:
    script = plan_add([PortMapping(8080, 80)], POD[:1], "c1/eth0", True, [7, 9]).splitlines()
    assert "delete rule inet berth-hostport hostports handle 7" in script
    assert script.index("delete rule inet berth-hostport hostports handle 9") < len(script) - 2
    assert "add rule inet berth-hostport prerouting fib daddr type local jump hostports" in script


def test_rules_are_found_by_comment() -> None:
    listing = [{"table": {"name": "berth-hostport"}},
               {"rule": {"chain": "hostports", "handle": 4, "comment": "a/eth0"}},
               {"rule": {"chain": "hostports", "handle": 5, "comment": "a/eth0"}},
               {"rule": {"chain": "hostports", "handle": 6, "comment": "b/eth0"}},
               {"rule": {"chain": "prerouting", "handle": 2}}]
    assert rules_of(listing) == {"a/eth0": [4, 5], "b/eth0": [6]}
    assert rules_of(None) == {}


def run_portmap(conf: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    import io
    import json

    from berth.cni.plugins.portmap import Portmap
    from berth.cni.skel import dispatch

    env = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/x",
           "CNI_IFNAME": "eth0", "CNI_PATH": "/bin"}
    out = io.StringIO()
    code = dispatch(Portmap(), env, json.dumps(conf).encode(), out)
    return code, json.loads(out.getvalue())


PREV = {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "/run/netns/x"}],
        "ips": [{"address": "10.244.1.5/24", "interface": 0}]}


def test_plugin_without_mappings_passes_prev_result_through() -> None:
    base = {"cniVersion": "1.0.0", "name": "n", "type": "berth-portmap"}
    assert run_portmap({**base, "prevResult": PREV}) == (0, PREV)
    code, out = run_portmap(base)
    assert (code, out["code"]) == (1, 7) and out["msg"].startswith("prevResult:")
    code, out = run_portmap({**base, "prevResult": PREV,
                             "runtimeConfig": {"portMappings": [{"hostPort": 0}]}})
    assert (code, out["code"]) == (1, 7)
    assert "runtimeConfig.portMappings[0].hostPort" in out["msg"]
