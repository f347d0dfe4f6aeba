"""Service ClusterIP and NodePort allocation: the admission of Services.

A `ServiceAllocator` holds the Service CIDR and NodePort range of one server and
the claim tables of its store (see `claims`). The server's write path
(`berth.server.admission.Admission`) calls it for every Service:

- `create(obj)` instead of ``store.create("services", obj)``: fills
  ``spec.clusterIP``/``clusterIPs`` (headless and ExternalName get none) and the
  NodePorts of NodePort/LoadBalancer services, honouring explicit values if they
  are in range and free, stores the Service, and gives the claims back if the
  store refuses it;
- `prepare_service_update(old, new)` before validation of an update (pure: keeps
  the allocated clusterIP and NodePorts a PUT left out, clears what a type change
  makes meaningless), then `update(old, new)` instead of ``store.update``: claims
  what the new spec adds and releases what it dropped;
- `release(obj)` after a Service is removed from the store.

Each allocation is a claim object in the store, so it is atomic across
concurrent creates and API servers and survives restarts; `repair` (run once at
server start, before it serves) frees claims left behind by a crash and records
claims for Services that predate them. Refusals are `Invalid` (422) with
Kubernetes' field and wording; a full range is an InternalError, as in Kubernetes.
"""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import dataclass, field
from typing import Any

from berth.api.errors import INVALID, FieldError, NotFound, internal_error, invalid
from berth.api.meta import parse_time
from berth.server.admission.claims import ClaimTable, owner_of, service_identity
from berth.server.admission.ranges import IPRange, Network, PortRange, pick_free
from berth.store.base import Store

Obj = dict[str, Any]
IP_KEY = "ipaddresses.networking.k8s.io"
PORT_KEY = "servicenodeports.internal.berth.dev"
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")
REPAIR_GRACE = datetime.timedelta(minutes=1)


def _spec(service: Obj) -> Obj:
    spec = service.get("spec")
    if not isinstance(spec, dict):
        spec = service["spec"] = {}
    return spec


def wants_cluster_ip(service: Obj) -> bool:
    spec = service.get("spec") or {}
    return spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None"


def wants_node_ports(service: Obj) -> bool:
    spec = service.get("spec") or {}
    kind = spec.get("type")
    return kind == "NodePort" or (
        kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False)


def node_ports(service: Obj) -> set[int]:
    return {int(p["nodePort"]) for p in (service.get("spec") or {}).get("ports") or []
            if isinstance(p, dict) and isinstance(p.get("nodePort"), int) and p["nodePort"]}


def prepare_service_update(old: Obj, new: Obj) -> None:
    """Carry allocated values a PUT left out; clear what the new type cannot have (pure)."""
    spec, old_spec = _spec(new), old.get("spec") or {}
    if spec.get("type") == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    elif not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
        spec["clusterIPs"] = list(old_spec.get("clusterIPs") or [old_spec["clusterIP"]])
    old_ports = {(p.get("port"), p.get("protocol") or "TCP"): p.get("nodePort")
                 for p in old_spec.get("ports") or [] if isinstance(p, dict)}
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        if not wants_node_ports(new):
            port.pop("nodePort", None)
        elif not port.get("nodePort"):
            previous = old_ports.get((port.get("port"), port.get("protocol") or "TCP"))
            if previous:
                port["nodePort"] = previous


def _refuse(service: Obj, path: str, value: Any, detail: str) -> Exception:
    name = str((service.get("metadata") or {}).get("name") or "")
    return invalid("Service", name, [FieldError(INVALID, path, value, detail)])


@dataclass
class Allocation:
    """Claims taken for one write: given back on failure."""

    taken: list[tuple[ClaimTable, str]] = field(default_factory=list)

    async def rollback(self, uid: str) -> None:
        for table, name in reversed(self.taken):
            await table.release(name, uid)


class ServiceAllocator:
    """The ClusterIP and NodePort ranges of one server over its store."""

    def __init__(self, store: Store, service_cidr: Network,
                 node_port_range: tuple[int, int]) -> None:
        self.store = store
        self.ips = IPRange(service_cidr)
        self.ports = PortRange(*node_port_range)
        self.ip_claims = ClaimTable(store, IP_KEY, "IPAddress", "networking.k8s.io/v1")
        self.port_claims = ClaimTable(store, PORT_KEY, "ServiceNodePort", "internal.berth.dev/v1")

    # --- the write path -----------------------------------------------------------

    async def create(self, obj: Obj) -> Obj:
        """Allocate, then store a new Service; claims are given back if the store refuses."""
        alloc = await self.allocate(obj)
        try:
            return await self.store.create("services", obj)
        except BaseException:
            await asyncio.shield(alloc.rollback(service_identity(obj)[2]))
            raise

    async def update(self, old: Obj, new: Obj) -> Obj:
        """Claim what `new` adds, store it, then release what it dropped."""
        alloc = await self.allocate(new, old)
        try:
            stored = await self.store.update("services", new)
        except BaseException:
            await asyncio.shield(alloc.rollback(service_identity(new)[2]))
            raise
        await self.release(old, keep=stored)
        return stored

    async def allocate(self, service: Obj, old: Obj | None = None) -> Allocation:
        """Claim what `service` needs beyond what `old` (the stored version) holds."""
        alloc = Allocation()
        uid = service_identity(service)[2]
        try:
            old_ip = str(((old or {}).get("spec") or {}).get("clusterIP") or "")
            holds_ip = bool(old_ip) and old_ip != "None" and old_ip == _spec(service).get(
                "clusterIP")
            if wants_cluster_ip(service) and not holds_ip:
                await self._take_ip(service, alloc)
            if wants_node_ports(service):
                await self._take_ports(service, alloc, node_ports(old) if old else set())
        except BaseException:
            await alloc.rollback(uid)
            raise
        return alloc

    async def release(self, service: Obj, keep: Obj | None = None) -> None:
        """Give back what `service` holds and `keep` (its new version) does not."""
        uid = service_identity(service)[2]
        spec = service.get("spec") or {}
        ip = str(spec.get("clusterIP") or "")
        kept_ip = str(((keep or {}).get("spec") or {}).get("clusterIP") or "")
        if ip and ip != "None" and ip != kept_ip:
            await self.ip_claims.release(ip, uid)
        for number in node_ports(service) - (node_ports(keep) if keep else set()):
            await self.port_claims.release(str(number), uid)

    # --- picking members ----------------------------------------------------------

    async def _take_ip(self, service: Obj, alloc: Allocation) -> None:
        spec = _spec(service)
        wanted = str(spec.get("clusterIP") or "")
        table = self.ip_claims
        if wanted:
            if self.ips.offset(wanted) is None:
                raise _refuse(service, "spec.clusterIPs[0]", wanted,
                              "provided IP is not in the valid range. The range of valid IPs "
                              f"is {self.ips.describe()}")
            if not await table.claim(wanted, service):
                raise _refuse(service, "spec.clusterIPs[0]", wanted,
                              "provided IP is already allocated")
            alloc.taken.append((table, wanted))
            spec["clusterIPs"] = [wanted]
            return
        async with table.lock:
            for attempt in range(2):
                while True:
                    used = {o for o in map(self.ips.offset, await table.used()) if o is not None}
                    index = pick_free(self.ips.size, used)
                    if index is None:
                        break
                    ip = self.ips.member(index)
                    if await table.claim(ip, service):
                        alloc.taken.append((table, ip))
                        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
                        return
                if attempt == 0:
                    await table.reload()
        raise internal_error("failed to allocate a serviceIP: range is full")

    async def _take_ports(self, service: Obj, alloc: Allocation, keep: set[int]) -> None:
        table = self.port_claims
        ports = [p for p in _spec(service).get("ports") or [] if isinstance(p, dict)]
        for i, port in enumerate(ports):
            number = port.get("nodePort")
            if not number or number in keep:
                continue
            if self.ports.offset(int(number)) is None:
                raise _refuse(service, f"spec.ports[{i}].nodePort", number,
                              "provided port is not in the valid range. The range of valid "
                              f"ports is {self.ports.describe()}")
            if not await table.claim(str(number), service):
                raise _refuse(service, f"spec.ports[{i}].nodePort", number,
                              "provided port is already allocated")
            alloc.taken.append((table, str(number)))
        for port in ports:
            if port.get("nodePort"):
                continue
            async with table.lock:
                port["nodePort"] = await self._free_port(service, alloc)

    async def _free_port(self, service: Obj, alloc: Allocation) -> int:
        table = self.port_claims
        for attempt in range(2):
            while True:
                used = {int(n) - self.ports.low for n in await table.used() if n.isdigit()}
                index = pick_free(self.ports.size, used)
                if index is None:
                    break
                number = self.ports.member(index)
                if await table.claim(str(number), service):
                    alloc.taken.append((table, str(number)))
                    return number
            if attempt == 0:
                await table.reload()
        raise internal_error("failed to allocate a nodePort: range is full")

    # --- repair -------------------------------------------------------------------

    async def repair(self, now: datetime.datetime | None = None) -> int:
        """Claim for Services that lack claims, then free claims whose Service is gone.

        A claim younger than REPAIR_GRACE may belong to a create still in flight on
        another server, so only older ones are freed. Returns the number of changes.
        """
        moment = now or datetime.datetime.now(datetime.UTC)
        services = {service_identity(s): s for s in (await self.store.list("services")).items}
        live = set(services)
        changes = 0
        for service in services.values():
            spec = service.get("spec") or {}
            ip = str(spec.get("clusterIP") or "")
            if wants_cluster_ip(service) and self.ips.offset(ip) is not None:
                changes += await _ensure_claim(self.ip_claims, ip, service, live)
            for number in node_ports(service) if wants_node_ports(service) else set():
                changes += await _ensure_claim(self.port_claims, str(number), service, live)
        for table in (self.ip_claims, self.port_claims):
            for claim in await table.all_claims():
                meta = claim["metadata"]
                if owner_of(claim) in live:
                    continue
                try:
                    created = parse_time(str(meta.get("creationTimestamp") or ""))
                except ValueError:
                    created = moment - REPAIR_GRACE
                if moment - created >= REPAIR_GRACE:
                    await table.release(str(meta["name"]), owner_of(claim)[2])
                    changes += 1
        return changes


async def _ensure_claim(table: ClaimTable, name: str, service: Obj,
                        live: set[tuple[str, str, str]]) -> int:
    """Claim `name` for a Service that holds it; take it over from an owner that is gone."""
    try:
        claim = await table.store.get(table.key, "", name)
    except NotFound:
        return 1 if await table.claim(name, service) else 0
    owner = owner_of(claim)
    if owner == service_identity(service) or owner in live:
        return 0
    await table.release(name, owner[2])
    return 1 if await table.claim(name, service) else 0
