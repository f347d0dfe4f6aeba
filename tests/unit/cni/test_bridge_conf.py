"""The bridge plugin's pure planning: configuration, names, gateways and routes."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from berth.cni.conf import parse_netconf
from berth.cni.errors import InvalidConfig
from berth.cni.plugins.bridge_conf import (
    bridge_addresses,
    host_veth_name,
    parse_bridge_conf,
    plan_gateways,
    plan_routes,
    route_gateway,
)
from berth.cni.spec import IPConfig, Route


def bridge(**fields: Any) -> Any:
    conf = {"cniVersion": "1.0.0", "name": "n", "type": "berth-bridge", **fields}
    return parse_bridge_conf(parse_netconf(json.dumps(conf).encode()))


def ipc(addr: str, gw: str | None = None) -> IPConfig:
    return IPConfig(ipaddress.ip_interface(addr), ipaddress.ip_address(gw) if gw else None)


def test_defaults() -> None:
    bc = bridge()
    assert (bc.bridge, bc.mtu, bc.is_gateway, bc.ip_masq, bc.hairpin) == (
        "cni0", 1500, False, False, False)
    assert bridge(isDefaultGateway=True).is_gateway


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"mtu": "9000"}, "mtu: expected an integer"),
        ({"mtu": 20}, "mtu: 20 is out of range"),
        ({"isGateway": "yes"}, "isGateway: expected true or false"),
        ({"bridge": "a-bridge-name-too-long"}, "bridge: invalid interface name"),
        ({"bridge": 7}, "bridge: expected a string"),
        ({"runtimeConfig": {"mac": "zz:00"}}, "runtimeConfig.mac: invalid MAC"),
        ({"args": {"cni": {"mac": "0a:58"}}}, "args.cni.mac: invalid MAC"),
    ],
)
def test_bad_fields_are_named(fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        bridge(**fields)
    assert needle in info.value.msg


def test_host_veth_names_are_stable_unique_and_fit_ifnamsiz() -> None:
    a, b = host_veth_name("ctr1", "eth0"), host_veth_name("ctr1", "eth1")
    assert a == host_veth_name("ctr1", "eth0") and a != b
    assert a.startswith("bth") and len(a) == 15


def test_gateway_planning() -> None:
    ips = (ipc("10.1.0.5/24"), ipc("fd00::5/64", "fd00::fe"))
    assert plan_gateways(bridge(), ips) == ips
    planned = plan_gateways(bridge(isGateway=True), ips)
    assert [str(ip.gateway) for ip in planned] == ["10.1.0.1", "fd00::fe"]
    assert [str(a) for a in bridge_addresses(planned)] == ["10.1.0.1/24", "fd00::fe/64"]


def test_default_routes_only_when_default_gateway() -> None:
    ips = plan_gateways(bridge(isGateway=True), (ipc("10.1.0.5/24"),))
    extra = (Route(ipaddress.ip_network("10.96.0.0/12")),)
    assert plan_routes(bridge(isGateway=True), ips, extra) == extra
    routes = plan_routes(bridge(isDefaultGateway=True), ips, extra)
    assert [str(r.dst) for r in routes] == ["10.96.0.0/12", "0.0.0.0/0"]
    assert str(route_gateway(routes[0], ips)) == "10.1.0.1"  # no gw: the family's gateway
