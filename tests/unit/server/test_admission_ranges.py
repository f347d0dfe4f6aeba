"""Service IP and NodePort ranges: members, reserved addresses, free picks."""

from __future__ import annotations

import ipaddress

from berth.server.admission.ranges import IPRange, PortRange, pick_free


def test_ip_range_skips_network_and_broadcast() -> None:
    r = IPRange(ipaddress.ip_network("10.96.0.0/29"))
    assert r.size == 6
    assert r.member(0) == "10.96.0.1"
    assert r.offset("10.96.0.0") is None
    assert r.offset("10.96.0.7") is None
    assert r.offset("10.96.0.6") == 5
    assert r.offset("10.97.0.1") is None
    assert r.offset("bogus") is None


def test_port_range() -> None:
    r = PortRange(30000, 32767)
    assert r.size == 2768
    assert r.offset(30080) == 80
    assert r.offset(80) is None
    assert r.member(80) == 30080


def test_pick_free_wraps_and_detects_full() -> None:
    assert pick_free(4, {2, 3}, rand=lambda n: 2) == 0
    assert pick_free(4, {0, 1, 2, 3}) is None
    assert pick_free(0, set()) is None
