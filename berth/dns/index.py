"""The cluster's DNS records, built from Services and EndpointSlices as one in-memory index.

``build_index`` is pure: it reads Kubernetes v1 JSON objects and fills plain
dictionaries keyed by lower-case names without the trailing dot (queries are
case-insensitive, as the Kubernetes DNS specification requires):

- ``a``: ``svc.ns.svc.<zone>`` -> the clusterIP, or for a headless Service the
  IPs of its ready endpoints; ``host.svc.ns.svc.<zone>`` -> one endpoint of a
  headless Service (``host`` is the endpoint's ``hostname``, or its IP with
  dashes when it has none);
- ``srv``: ``_port._proto.svc.ns.svc.<zone>`` -> (port, target) for every named
  port: the Service name itself, or each endpoint's name for headless ones;
- ``cname``: ExternalName Services;
- ``ptr``: ``d.c.b.a.in-addr.arpa`` -> names, for clusterIPs and headless
  endpoints;
- ``names``: every name that exists, with its ancestors inside the zone, so
  the resolver can tell "no such name" (NXDOMAIN) from "no record of that type"
  (NODATA).

Pod names (``a-b-c-d.ns.pod.<zone>``) are not stored: the resolver decodes them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from berth.api.endpointslices import ipv4, ready_addresses

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True, order=True)
class Srv:
    """One SRV answer: the port and the name that serves it."""

    port: int
    target: str


@dataclass
class ClusterIndex:
    """The records of one cluster domain (see the module docstring)."""

    domain: str = "cluster.local"
    a: dict[str, set[str]] = field(default_factory=dict)
    srv: dict[str, set[Srv]] = field(default_factory=dict)
    cname: dict[str, str] = field(default_factory=dict)
    ptr: dict[str, set[str]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def add_name(self, name: str) -> None:
        """Record ``name`` and its ancestors down to the zone as existing."""
        while name.endswith("." + self.domain):
            self.names.add(name)
            name = name.split(".", 1)[1]
        self.names.add(self.domain)

    def add_a(self, name: str, ip: str) -> None:
        self.a.setdefault(name, set()).add(ip)
        self.add_name(name)

    def add_srv(self, name: str, srv: Srv) -> None:
        self.srv.setdefault(name, set()).add(srv)
        self.add_name(name)

    def add_ptr(self, ip: str, name: str) -> None:
        self.ptr.setdefault(reverse_name(ip), set()).add(name)


def reverse_name(ip: str) -> str:
    """``10.96.0.1`` -> ``1.0.96.10.in-addr.arpa``."""
    return ipaddress.ip_address(ip).reverse_pointer


def _label(text: object) -> str:
    return str(text or "").lower()


def _ready_endpoints(slices: Iterable[Obj], publish_not_ready: bool) -> list[tuple[str, str]]:
    """(ip, hostname) of every ready IPv4 endpoint; hostname defaults to the dashed IP."""
    return sorted({(ip, _label(ep.get("hostname")) or ip.replace(".", "-"))
                   for _, ep, ip in ready_addresses(slices,
                                                    include_not_ready=publish_not_ready)})


def _slice_ports(slices: Iterable[Obj]) -> set[tuple[str, str, int]]:
    return {(_label(p.get("name")), _label(p.get("protocol", "TCP")), p["port"])
            for es in slices for p in es.get("ports") or []
            if p.get("name") and isinstance(p.get("port"), int)}


def add_service(index: ClusterIndex, svc: Obj, slices: list[Obj]) -> None:
    """Add the records of one Service (and its slices) to ``index``."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    name = f"{_label(meta.get('name'))}.{_label(meta.get('namespace') or 'default')}" \
           f".svc.{index.domain}"
    if spec.get("type") == "ExternalName":
        target = str(spec.get("externalName") or "").lower().rstrip(".")
        if target:
            index.cname[name] = target
            index.add_name(name)
        return
    cluster_ip = ipv4(spec.get("clusterIP"))
    if cluster_ip:
        index.add_a(name, cluster_ip)
        index.add_ptr(cluster_ip, name)
        for p in spec.get("ports") or []:
            if p.get("name") and isinstance(p.get("port"), int):
                srv = f"_{_label(p['name'])}._{_label(p.get('protocol', 'TCP'))}.{name}"
                index.add_srv(srv, Srv(p["port"], name))
        return
    if spec.get("clusterIP") not in ("None", None, ""):
        return  # an IPv6 or malformed clusterIP: nothing this index serves
    publish = bool(spec.get("publishNotReadyAddresses"))
    for es in slices:  # ports are per slice: pair each slice's endpoints with its own ports
        endpoints = _ready_endpoints([es], publish)
        for ip, host in endpoints:
            index.add_a(name, ip)
            index.add_a(f"{host}.{name}", ip)
            index.add_ptr(ip, f"{host}.{name}")
        for port_name, proto, port in _slice_ports([es]):
            for _ip, host in endpoints:
                index.add_srv(f"_{port_name}._{proto}.{name}", Srv(port, f"{host}.{name}"))


def build_index(services: Iterable[Obj], endpointslices: Iterable[Obj],
                domain: str = "cluster.local") -> ClusterIndex:
    """The index of every Service record of the cluster under ``domain``."""
    index = ClusterIndex(domain=domain.lower().strip("."))
    index.add_name(f"svc.{index.domain}")
    index.add_name(f"pod.{index.domain}")
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for es in endpointslices:
        meta = es.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            key = (str(meta.get("namespace") or "default"), str(owner))
            by_service.setdefault(key, []).append(es)
    for svc in services:
        meta = svc.get("metadata") or {}
        key = (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
        if key[1]:
            add_service(index, svc, by_service.get(key, []))
    return index
