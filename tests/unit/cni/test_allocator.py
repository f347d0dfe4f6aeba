"""host-local's allocation rules, on an in-memory store (the disk store is tested beside)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from berth.cni.errors import InvalidConfig
from berth.cni.plugins import allocator
from berth.cni.plugins.allocator import AllocationError, parse_range_sets
from berth.cni.spec import IPAddress


class MemoryStore:
    """A fake ``Store``: a dict of reservations."""

    def __init__(self) -> None:
        self.held: dict[IPAddress, tuple[str, str]] = {}
        self.last: dict[str, IPAddress] = {}

    @contextmanager
    def lock(self) -> Iterator[None]:
        yield

    def reserve(self, container_id: str, ifname: str, ip: IPAddress, range_id: str) -> bool:
        if ip in self.held:
            return False
        self.held[ip] = (container_id, ifname)
        self.last[range_id] = ip
        return True

    def last_reserved_ip(self, range_id: str) -> IPAddress | None:
        return self.last.get(range_id)

    def release(self, ip: IPAddress) -> None:
        self.held.pop(ip, None)

    def get_by_id(self, container_id: str, ifname: str) -> list[IPAddress]:
        return [ip for ip, owner in self.held.items() if owner == (container_id, ifname)]

    def attachments(self) -> list[tuple[IPAddress, str, str]]:
        return [(ip, c, i) for ip, (c, i) in self.held.items()]


def ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


def sets(*ranges: list[dict[str, Any]]) -> list[allocator.RangeSet]:
    return parse_range_sets({"ranges": list(ranges)})


def test_defaults_follow_the_reference_plugin() -> None:
    (rs,) = sets([{"subnet": "10.0.0.0/24"}])
    (r,) = rs.ranges
    assert (str(r.start), str(r.end), str(r.gateway)) == ("10.0.0.1", "10.0.0.254", "10.0.0.1")
    (rs6,) = sets([{"subnet": "fd00::/120"}])
    assert str(rs6.ranges[0].end) == "fd00::ff"


def test_legacy_subnet_form() -> None:
    (rs,) = parse_range_sets({"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.10"})
    assert str(rs.ranges[0].start) == "10.0.0.10"


@pytest.mark.parametrize(
    ("ipam", "field"),
    [
        ({}, "ipam.ranges"),
        ({"ranges": [[{"subnet": "10.0.0/24"}]]}, "ipam.ranges[0][0].subnet: invalid CIDR"),
        ({"ranges": [[{"subnet": "10.0.0.0/33"}]]}, "ipam.ranges[0][0].subnet: invalid CIDR"),
        ({"ranges": [[{"subnet": "10.0.0.0/31"}]]}, "too small"),
        ({"ranges": [[{}]]}, "ipam.ranges[0][0].subnet"),
        ({"ranges": [[{"subnet": "10.0.0.0/24", "rangeStart": "10.0.1.5"}]]},
         "ipam.ranges[0][0].rangeStart"),
        ({"ranges": [[{"subnet": "10.0.0.0/24", "rangeEnd": "nope"}]]},
         "ipam.ranges[0][0].rangeEnd"),
        ({"ranges": [[{"subnet": "10.0.0.0/24", "gateway": "10.1.0.1"}]]},
         "ipam.ranges[0][0].gateway"),
        ({"ranges": [[{"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.9",
                       "rangeEnd": "10.0.0.3"}]]}, "rangeStart"),
        ({"ranges": [[{"subnet": "10.0.0.0/24"}, {"subnet": "fd00::/64"}]]}, "mixed"),
        ({"ranges": [[{"subnet": "10.0.0.0/24"}], [{"subnet": "10.0.0.0/25"}]]},
         "ipam.ranges[1][0]: range"),
        ({"ranges": [[]]}, "ipam.ranges[0]"),
    ],
)
def test_bad_ranges_name_the_field(ipam: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        parse_range_sets(ipam)
    assert field in info.value.msg
    assert info.value.code == 7


def test_gateway_is_never_allocated_and_round_robin_wraps() -> None:
    store = MemoryStore()
    rs = sets([{"subnet": "10.0.0.0/29"}])  # .1 gateway, .2-.6 usable
    got = [allocator.allocate(store, rs, f"c{n}", "eth0", [])[0][0] for n in range(5)]
    assert [str(a) for a in got] == [f"10.0.0.{n}/29" for n in range(2, 7)]
    with pytest.raises(AllocationError, match="no IP addresses available"):
        allocator.allocate(store, rs, "c9", "eth0", [])
    allocator.release(store, "c1", "eth0")  # frees .3
    assert str(allocator.allocate(store, rs, "c9", "eth0", [])[0][0]) == "10.0.0.3/29"


def test_round_robin_does_not_reuse_a_just_freed_address() -> None:
    store = MemoryStore()
    rs = sets([{"subnet": "10.0.0.0/24"}])
    allocator.allocate(store, rs, "a", "eth0", [])
    allocator.release(store, "a", "eth0")
    assert str(allocator.allocate(store, rs, "b", "eth0", [])[0][0].ip) == "10.0.0.3"


def test_ranges_of_a_set_are_walked_in_order() -> None:
    store = MemoryStore()
    rs = sets([{"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.10", "rangeEnd": "10.0.0.11"},
               {"subnet": "10.0.1.0/24", "rangeStart": "10.0.1.10", "rangeEnd": "10.0.1.10"}])
    got = [str(allocator.allocate(store, rs, f"c{n}", "eth0", [])[0][0].ip) for n in range(3)]
    assert got == ["10.0.0.10", "10.0.0.11", "10.0.1.10"]


def test_dual_stack_gives_one_address_per_set() -> None:
    store = MemoryStore()
    got = allocator.allocate(store, sets([{"subnet": "10.0.0.0/24"}], [{"subnet": "fd00::/64"}]),
                             "a", "eth0", [])
    assert [str(a) for a, _ in got] == ["10.0.0.2/24", "fd00::2/64"]
    assert [str(r.gateway) for _, r in got] == ["10.0.0.1", "fd00::1"]


def test_requested_ips() -> None:
    store = MemoryStore()
    rs = sets([{"subnet": "10.0.0.0/24"}])
    assert str(allocator.allocate(store, rs, "a", "eth0", [ip("10.0.0.50")])[0][0].ip) \
        == "10.0.0.50"
    with pytest.raises(AllocationError, match="not available"):
        allocator.allocate(store, rs, "b", "eth0", [ip("10.0.0.50")])
    with pytest.raises(AllocationError, match="gateway"):
        allocator.allocate(store, rs, "b", "eth0", [ip("10.0.0.1")])
    with pytest.raises(AllocationError, match=r"10\.9\.9\.9 is outside every configured range"):
        allocator.allocate(store, rs, "b", "eth0", [ip("10.9.9.9")])
    assert store.get_by_id("b", "eth0") == []


def test_failure_in_a_later_set_releases_the_earlier_ones() -> None:
    store = MemoryStore()
    both = sets([{"subnet": "10.0.0.0/24"}], [{"subnet": "fd00::/120"}])
    allocator.allocate(store, both, "a", "eth0", [ip("fd00::9")])
    with pytest.raises(AllocationError):
        allocator.allocate(store, both, "b", "eth0", [ip("fd00::9")])
    assert store.get_by_id("b", "eth0") == []


def test_duplicate_allocation_for_the_same_attachment_is_refused() -> None:
    store = MemoryStore()
    rs = sets([{"subnet": "10.0.0.0/24"}])
    allocator.allocate(store, rs, "a", "eth0", [])
    with pytest.raises(AllocationError, match="duplicate"):
        allocator.allocate(store, rs, "a", "eth0", [])
    allocator.allocate(store, rs, "a", "eth1", [])


def test_release_and_gc() -> None:
    store = MemoryStore()
    rs = sets([{"subnet": "10.0.0.0/24"}])
    for cid in ("a", "b", "c"):
        allocator.allocate(store, rs, cid, "eth0", [])
    assert allocator.release(store, "zzz", "eth0") == []
    freed = allocator.collect_garbage(store, {("b", "eth0")})
    assert sorted(map(str, freed)) == ["10.0.0.2", "10.0.0.4"]
    assert [c for _, c, _ in store.attachments()] == ["b"]


def test_has_free_address() -> None:
    store = MemoryStore()
    (rs,) = sets([{"subnet": "10.0.0.0/30"}])  # only .2 is usable
    assert allocator.has_free_address(store, rs, 0)
    allocator.allocate(store, [rs], "a", "eth0", [])
    assert not allocator.has_free_address(store, rs, 0)
