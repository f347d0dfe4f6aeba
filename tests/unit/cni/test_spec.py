"""Results in every supported version: parsing, writing and conversion between versions."""

from __future__ import annotations

import ipaddress

import pytest

from berth.cni.errors import DecodeFailure, IncompatibleVersion
from berth.cni.spec import (
    DNS,
    SUPPORTED_VERSIONS,
    Interface,
    IPConfig,
    Result,
    Route,
    parse_result,
)

VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]

FULL = Result(
    "1.1.0",
    interfaces=(Interface("cni0", "aa:bb:cc:dd:ee:ff"),
                Interface("eth0", "aa:bb:cc:dd:ee:01", "/run/netns/x", mtu=1400)),
    ips=(IPConfig(ipaddress.ip_interface("10.1.0.5/24"), ipaddress.ip_address("10.1.0.1"), 1),
         IPConfig(ipaddress.ip_interface("fd00::5/64"), None, 1)),
    routes=(Route(ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_address("10.1.0.1"),
                  mtu=1400, priority=10),),
    dns=DNS(("10.96.0.10",), "cluster.local", ("svc.cluster.local",), ("ndots:5",)),
)


def test_supported_versions_are_the_spec_list() -> None:
    assert list(SUPPORTED_VERSIONS) == ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]


@pytest.mark.parametrize("version", VERSIONS)
def test_ips_carry_version_field_only_before_1_0_0(version: str) -> None:
    out = FULL.to_dict(version)
    assert out["cniVersion"] == version
    legacy = version in ("0.3.1", "0.4.0")
    assert [ip.get("version") for ip in out["ips"]] == (["4", "6"] if legacy else [None, None])
    assert out["ips"][0] == {**({"version": "4"} if legacy else {}), "interface": 1,
                             "address": "10.1.0.5/24", "gateway": "10.1.0.1"}


@pytest.mark.parametrize("version", VERSIONS)
def test_1_1_0_fields_appear_only_in_1_1_0(version: str) -> None:
    out = FULL.to_dict(version)
    v11 = version == "1.1.0"
    assert ("mtu" in out["interfaces"][1]) is v11
    assert ("mtu" in out["routes"][0]) is v11
    assert ("priority" in out["routes"][0]) is v11
    assert out["routes"][0]["dst"] == "0.0.0.0/0"
    assert out["dns"]["nameservers"] == ["10.96.0.10"]


@pytest.mark.parametrize("source", VERSIONS)
@pytest.mark.parametrize("target", VERSIONS)
def test_conversion_round_trips_common_fields(source: str, target: str) -> None:
    converted = parse_result(parse_result(FULL.to_dict(source)).to_dict(target))
    assert converted.cni_version == target
    assert [ip.address for ip in converted.ips] == [ip.address for ip in FULL.ips]
    assert [ip.gateway for ip in converted.ips] == [ip.gateway for ip in FULL.ips]
    assert [i.sandbox for i in converted.interfaces] == ["", "/run/netns/x"]
    assert converted.routes[0].dst == FULL.routes[0].dst
    assert converted.dns == FULL.dns


def test_empty_sections_are_omitted() -> None:
    assert Result("1.0.0").to_dict() == {"cniVersion": "1.0.0"}


def test_old_results_are_refused() -> None:
    with pytest.raises(IncompatibleVersion):
        parse_result({"cniVersion": "0.2.0", "ip4": {"ip": "10.0.0.2/24"}})
    with pytest.raises(IncompatibleVersion):
        FULL.to_dict("0.2.0")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "result"),
        ({}, "result.cniVersion"),
        ({"cniVersion": "1.0.0", "ips": {}}, "result.ips"),
        ({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.300/24"}]}, "result.ips[0].address"),
        ({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.3"}]}, "result.ips[0].address"),
        ({"cniVersion": "1.0.0", "routes": [{"dst": "x"}]}, "result.routes[0].dst"),
        ({"cniVersion": "1.0.0", "interfaces": [{"mac": "x"}]}, "result.interfaces[0].name"),
        ({"cniVersion": "1.0.0", "dns": {"nameservers": "1.1.1.1"}}, "result.dns.nameservers"),
    ],
)
def test_bad_results_name_the_field(data: object, field: str) -> None:
    with pytest.raises(DecodeFailure) as info:
        parse_result(data)
    assert info.value.code == 6
    assert info.value.msg.startswith(field + ":")
