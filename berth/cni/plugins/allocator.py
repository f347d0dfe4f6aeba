"""host-local's allocation logic, pure: ranges, range sets and the round-robin search.

``parse_range_sets`` turns the ``ipam`` section into canonical ``RangeSet``s
(defaults filled in as the reference plugin does: rangeStart = network+1,
rangeEnd = the last usable address, gateway = network+1) and rejects bad
CIDRs, out-of-subnet bounds, mixed families and overlaps with a message naming
the field.  ``allocate`` and ``release`` work against the ``Store`` protocol
(the disk store lives in ``ipam_store``; tests use an in-memory one), so the
search order - start after ``last_reserved_ip.<set index>``, walk every range of
the set once, wrap, never hand out a gateway - is testable without files.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from berth.cni.errors import CNIError, InvalidConfig
from berth.cni.spec import IPAddress, IPInterface, IPNetwork


class AllocationError(CNIError):
    """No address could be reserved (exhausted range, taken or foreign requested IP)."""

    code = 7


@dataclass(frozen=True)
class Range:
    subnet: IPNetwork
    start: IPAddress
    end: IPAddress
    gateway: IPAddress | None

    def contains(self, ip: IPAddress) -> bool:
        return ip.version == self.start.version and int(self.start) <= int(ip) <= int(self.end)

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass(frozen=True)
class RangeSet:
    ranges: tuple[Range, ...]

    def range_for(self, ip: IPAddress) -> Range | None:
        return next((r for r in self.ranges if r.contains(ip)), None)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.ranges)


class Store(Protocol):
    """Where reservations live; ``lock()`` serialises all allocators of one network."""

    def lock(self) -> AbstractContextManager[None]: ...
    def reserve(self, container_id: str, ifname: str, ip: IPAddress, range_id: str) -> bool: ...
    def last_reserved_ip(self, range_id: str) -> IPAddress | None: ...
    def release(self, ip: IPAddress) -> None: ...
    def get_by_id(self, container_id: str, ifname: str) -> list[IPAddress]: ...
    def attachments(self) -> list[tuple[IPAddress, str, str]]: ...


# -- configuration -------------------------------------------------------------------------


def _addr(value: Any, where: str) -> IPAddress:
    try:
        return ipaddress.ip_address(value)
    except (ValueError, TypeError) as exc:
        raise InvalidConfig(f"{where}: invalid IP address {value!r}") from exc


def parse_range(d: Any, where: str) -> Range:
    if not isinstance(d, dict):
        raise InvalidConfig(f"{where}: expected an object")
    text = d.get("subnet")
    if not isinstance(text, str) or not text:
        raise InvalidConfig(f"{where}.subnet: required CIDR is missing")
    try:
        subnet = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise InvalidConfig(f"{where}.subnet: invalid CIDR {text!r}") from exc
    if subnet.prefixlen > subnet.max_prefixlen - 2:
        raise InvalidConfig(f"{where}.subnet: network {subnet} too small to allocate from")
    first = subnet.network_address + 1
    last = subnet.broadcast_address - 1 if subnet.version == 4 else subnet.broadcast_address
    start = _addr(d["rangeStart"], f"{where}.rangeStart") if d.get("rangeStart") else first
    end = _addr(d["rangeEnd"], f"{where}.rangeEnd") if d.get("rangeEnd") else last
    gateway = _addr(d["gateway"], f"{where}.gateway") if d.get("gateway") else first
    for field, ip in (("rangeStart", start), ("rangeEnd", end), ("gateway", gateway)):
        if ip not in subnet:
            raise InvalidConfig(f"{where}.{field}: {ip} is not in subnet {subnet}")
    if int(start) > int(end):
        raise InvalidConfig(f"{where}.rangeStart: {start} is after rangeEnd {end}")
    return Range(subnet, start, end, gateway)


def parse_range_sets(ipam: dict[str, Any]) -> list[RangeSet]:
    """The ``ranges`` list of lists, or the legacy top-level ``subnet`` form."""
    raw = ipam.get("ranges")
    if raw is None:
        if not ipam.get("subnet"):
            raise InvalidConfig("ipam.ranges: required (or the legacy ipam.subnet)")
        raw = [[{k: ipam.get(k) for k in ("subnet", "rangeStart", "rangeEnd", "gateway")}]]
    if not isinstance(raw, list) or not raw:
        raise InvalidConfig("ipam.ranges: expected a non-empty list of range sets")
    sets: list[RangeSet] = []
    for i, rs in enumerate(raw):
        if not isinstance(rs, list) or not rs:
            raise InvalidConfig(f"ipam.ranges[{i}]: expected a non-empty list of ranges")
        ranges = tuple(parse_range(r, f"ipam.ranges[{i}][{j}]") for j, r in enumerate(rs))
        if len({r.subnet.version for r in ranges}) > 1:
            raise InvalidConfig(f"ipam.ranges[{i}]: mixed address families in one range set")
        sets.append(RangeSet(ranges))
    _check_overlaps(sets)
    return sets


def _check_overlaps(sets: list[RangeSet]) -> None:
    seen: list[tuple[str, Range]] = []
    for i, rs in enumerate(sets):
        for j, r in enumerate(rs.ranges):
            for name, other in seen:
                if other.start.version == r.start.version and not (
                    int(r.end) < int(other.start) or int(other.end) < int(r.start)
                ):
                    raise InvalidConfig(f"ipam.ranges[{i}][{j}]: range {r} overlaps {name}")
            seen.append((f"ipam.ranges[{i}][{j}]", r))


# -- allocation ----------------------------------------------------------------------------


def iterate(rs: RangeSet, last: IPAddress | None) -> Iterator[tuple[IPAddress, Range]]:
    """Every address of the set once, starting after ``last`` (round robin)."""
    n = len(rs.ranges)
    ri, ip = 0, rs.ranges[0].start
    if last is not None:
        for k, r in enumerate(rs.ranges):
            if r.contains(last):
                ri, ip = k, last + 1
                if int(ip) > int(r.end):
                    ri = (k + 1) % n
                    ip = rs.ranges[ri].start
                break
    first_range, first_ip = ri, ip
    while True:
        r = rs.ranges[ri]
        yield ip, r
        if int(ip) < int(r.end):
            ip = ip + 1
        else:
            ri = (ri + 1) % n
            ip = rs.ranges[ri].start
        if ri == first_range and ip == first_ip:
            return


def allocate_in_set(store: Store, rs: RangeSet, index: int, container_id: str, ifname: str,
                    requested: IPAddress | None) -> tuple[IPInterface, Range]:
    """Reserve one address of range set ``index`` (the caller holds ``store.lock()``)."""
    range_id = str(index)
    if requested is not None:
        r = rs.range_for(requested)
        if r is None:
            raise AllocationError(f"requested IP address {requested} is not in range set {rs}")
        if requested == r.gateway:
            raise AllocationError(f"requested IP address {requested} is the subnet's gateway")
        if not store.reserve(container_id, ifname, requested, range_id):
            raise AllocationError(
                f"requested IP address {requested} is not available in range set {rs}")
        return ipaddress.ip_interface(f"{requested}/{r.subnet.prefixlen}"), r
    for ip in store.get_by_id(container_id, ifname):
        if rs.range_for(ip) is not None:
            raise AllocationError(
                f"{ip} has been allocated to {container_id}, duplicate allocation is not allowed")
    for ip, r in iterate(rs, store.last_reserved_ip(range_id)):
        if ip == r.gateway:
            continue
        if store.reserve(container_id, ifname, ip, range_id):
            return ipaddress.ip_interface(f"{ip}/{r.subnet.prefixlen}"), r
    raise AllocationError(f"no IP addresses available in range set: {rs}")


def allocate(store: Store, sets: list[RangeSet], container_id: str, ifname: str,
             requested: list[IPAddress]) -> list[tuple[IPInterface, Range]]:
    """One address from every range set; all or nothing."""
    pending = list(requested)
    for ip in pending:
        if not any(rs.range_for(ip) for rs in sets):
            raise AllocationError(f"requested IP address {ip} is outside every configured range",
                                  ", ".join(str(rs) for rs in sets))
    out: list[tuple[IPInterface, Range]] = []
    with store.lock():
        try:
            for index, rs in enumerate(sets):
                want = next((ip for ip in pending if rs.range_for(ip)), None)
                if want is not None:
                    pending.remove(want)
                out.append(allocate_in_set(store, rs, index, container_id, ifname, want))
            if pending:
                raise AllocationError("failed to allocate all requested IPs",
                                      ", ".join(map(str, pending)))
        except BaseException:
            for iface, _ in out:
                store.release(iface.ip)
            raise
    return out


def release(store: Store, container_id: str, ifname: str) -> list[IPAddress]:
    """Free every address held by (container_id, ifname); nothing held is fine."""
    with store.lock():
        ips = store.get_by_id(container_id, ifname)
        for ip in ips:
            store.release(ip)
    return ips


def collect_garbage(store: Store, valid: set[tuple[str, str]]) -> list[IPAddress]:
    """Free every address whose (container_id, ifname) is not in ``valid``."""
    freed: list[IPAddress] = []
    with store.lock():
        for ip, cid, ifname in store.attachments():
            if (cid, ifname) not in valid:
                store.release(ip)
                freed.append(ip)
    return freed


def has_free_address(store: Store, rs: RangeSet, index: int) -> bool:
    taken = {ip for ip, _, _ in store.attachments()}
    for r in rs.ranges:
        size = int(r.end) - int(r.start) + 1
        in_range = sum(1 for ip in taken if r.contains(ip))
        gw = 1 if r.gateway is not None and r.contains(r.gateway) else 0
        if in_range + gw < size:
            return True
    return False
