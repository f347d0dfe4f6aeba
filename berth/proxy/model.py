"""What the proxy must program, as frozen values built from Services and EndpointSlices.

The proxy works on *service ports*: one (Service, port) pair is one virtual
endpoint ``clusterIP:port/proto`` (and maybe a NodePort) with its own list of
backends.  ``build_state`` is a pure function of the Service and EndpointSlice
objects (Kubernetes v1 JSON) and the node's name; it returns a ``ProxyState``
that the renderer (``berth.proxy.render``) turns into nft commands and that the
next sync compares against.  Only ready endpoints are used; a port with none is
still present (with an empty tuple) so the renderer can reject its traffic.

Services that the data path cannot serve (headless, ExternalName, no clusterIP,
IPv6, a protocol other than TCP/UDP/SCTP) are left out here; they matter to DNS
only.  Endpoint slices are matched to their Service by the
``kubernetes.io/service-name`` label and to a service port by port name, as
kube-proxy does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from berth.api.endpointslices import ipv4, ready_addresses

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}
DEFAULT_AFFINITY_SECONDS = 10800


@dataclass(frozen=True, order=True)
class Endpoint:
    """One backend of a service port: the pod IP and its target port."""

    ip: str
    port: int


@dataclass(frozen=True)
class ServicePort:
    """One ``clusterIP:port/proto`` of a Service and the backends it balances over."""

    namespace: str
    name: str
    port_name: str
    protocol: str  # nft spelling: tcp, udp, sctp
    cluster_ip: str
    port: int
    node_port: int = 0
    affinity_seconds: int = 0  # 0: no ClientIP session affinity
    endpoints: tuple[Endpoint, ...] = ()

    @property
    def key(self) -> str:
        """A stable identity, also the stem of its nft chain names (``ns/name/tcp/http``)."""
        return f"{self.namespace}/{self.name}/{self.protocol}/{self.port_name or self.port}"


@dataclass(frozen=True)
class DNSRedirect:
    """Send ``ip:port`` (the DNS service IP, both TCP and UDP) to a node-local listener."""

    ip: str = "10.96.0.10"
    port: int = 53
    to_port: int = 10053  # the node-local ClusterDNS listener (berth.dns default port)


@dataclass(frozen=True)
class ProxyState:
    """Everything the table holds, keyed by ``ServicePort.key``."""

    ports: dict[str, ServicePort] = field(default_factory=dict)
    dns: DNSRedirect | None = None


def _affinity(spec: Obj) -> int:
    if spec.get("sessionAffinity") != "ClientIP":
        return 0
    cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
    seconds = cfg.get("timeoutSeconds", DEFAULT_AFFINITY_SECONDS)
    return seconds if isinstance(seconds, int) and seconds > 0 else DEFAULT_AFFINITY_SECONDS


def ready_endpoints(slices: Iterable[Obj], port_name: str, protocol: str, node: str,
                    local_only: bool = False) -> tuple[Endpoint, ...]:
    """The ready IPv4 backends for the slice port named ``port_name`` (sorted, unique)."""
    found: set[Endpoint] = set()
    for es, ep, ip in ready_addresses(slices):
        target = next((p.get("port") for p in es.get("ports") or []
                       if (p.get("name") or "") == port_name
                       and p.get("protocol", "TCP") == protocol), None)
        if not isinstance(target, int) or not 0 < target < 65536:
            continue
        if local_only and ep.get("nodeName") != node:
            continue
        found.add(Endpoint(ip, target))
    return tuple(sorted(found, key=lambda e: (ipaddress.IPv4Address(e.ip), e.port)))


def service_ports(service: Obj, slices: Iterable[Obj], node: str) -> list[ServicePort]:
    """The service ports of one Service that the proxy programs (maybe none)."""
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    cluster_ip = ipv4(spec.get("clusterIP"))
    if spec.get("type") == "ExternalName" or cluster_ip is None:
        return []
    slices = list(slices)
    local_only = spec.get("internalTrafficPolicy") == "Local"
    out = []
    for p in spec.get("ports") or []:
        proto = p.get("protocol", "TCP")
        port = p.get("port")
        if proto not in PROTOCOLS or not isinstance(port, int) or not 0 < port < 65536:
            continue
        node_port = p.get("nodePort") if spec.get("type") in ("NodePort", "LoadBalancer") else 0
        out.append(ServicePort(
            namespace=str(meta.get("namespace") or "default"), name=str(meta.get("name")),
            port_name=str(p.get("name") or ""), protocol=PROTOCOLS[proto],
            cluster_ip=cluster_ip, port=port,
            node_port=node_port if isinstance(node_port, int) and 0 < node_port < 65536 else 0,
            affinity_seconds=_affinity(spec),
            endpoints=ready_endpoints(slices, str(p.get("name") or ""), proto, node, local_only),
        ))
    return out


Memo = dict[tuple[str, str], tuple[Obj, list[Obj], list[ServicePort]]]


def build_state(services: Iterable[Obj], endpointslices: Iterable[Obj], node: str,
                dns: DNSRedirect | None = None, memo: Memo | None = None) -> ProxyState:
    """The ``ProxyState`` for these objects, seen from node ``node``.

    ``memo`` (owned by one caller, e.g. a ``Proxier``) lets a sync reuse the
    service ports of every Service whose object and slices are the very same
    objects as last time, which a list+watch cache guarantees for unchanged ones.
    """
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for es in endpointslices:
        meta = es.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            by_service.setdefault((meta.get("namespace") or "default", owner), []).append(es)
    ports: dict[str, ServicePort] = {}
    taken: set[tuple[str, str, int]] = set()
    node_ports: set[tuple[str, int]] = set()
    if dns is not None:
        taken |= {(dns.ip, "tcp", dns.port), (dns.ip, "udp", dns.port)}
    fresh: Memo = {}
    for svc in sorted(services, key=_name_of):
        meta = svc.get("metadata") or {}
        key = (meta.get("namespace") or "default", meta.get("name") or "")
        own = by_service.get(key, [])
        seen = memo.get(key) if memo is not None else None
        if seen and seen[0] is svc and len(seen[1]) == len(own) and all(
                a is b for a, b in zip(seen[1], own, strict=True)):
            computed = seen[2]
        else:
            computed = service_ports(svc, own, node)
        fresh[key] = (svc, own, computed)
        for sp in computed:
            addr = (sp.cluster_ip, sp.protocol, sp.port)
            if addr in taken or sp.key in ports:
                continue  # two services claim one address: the first (by name) keeps it
            taken.add(addr)
            if sp.node_port and (sp.protocol, sp.node_port) in node_ports:
                sp = replace(sp, node_port=0)  # a duplicate NodePort: the first keeps it
            if sp.node_port:
                node_ports.add((sp.protocol, sp.node_port))
            ports[sp.key] = sp
    if memo is not None:
        memo.clear()
        memo.update(fresh)
    return ProxyState(ports, dns)


def _name_of(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")
