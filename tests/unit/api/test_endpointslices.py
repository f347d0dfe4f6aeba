"""The one rule the proxy and DNS share for reading EndpointSlices."""

from __future__ import annotations

from berth.api.endpointslices import ready_addresses

SLICES = [
    {"addressType": "IPv4", "endpoints": [
        {"addresses": ["10.244.0.5"], "conditions": {"ready": True}},
        {"addresses": ["10.244.1.7"]},                                  # no condition: ready
        {"addresses": ["10.244.2.9"], "conditions": {"ready": False}},
        {"addresses": ["not-an-ip", "10.244.3.3"]},
    ]},
    {"addressType": "IPv6", "endpoints": [{"addresses": ["fd00::1"]}]},
]


def test_ready_ipv4_addresses_only() -> None:
    assert [ip for _, _, ip in ready_addresses(SLICES)] == [
        "10.244.0.5", "10.244.1.7", "10.244.3.3"]


def test_publish_not_ready_keeps_unready_endpoints() -> None:
    ips = [ip for _, _, ip in ready_addresses(SLICES, include_not_ready=True)]
    assert "10.244.2.9" in ips and "fd00::1" not in ips
