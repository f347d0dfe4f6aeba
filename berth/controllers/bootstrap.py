"""The cluster's built-in Services, made once when the controllers start (idempotent).

Kubernetes clusters always have two Services that pods rely on:

- ``default/kubernetes``: clusterIP = the first address of the service range
  (10.96.0.1), port 443 (``https``), no selector; its endpoints are the API
  server's address, kept by the API server itself (here: an Endpoints object
  and an EndpointSlice managed by ``berth-apiserver``, which the EndpointSlice
  controller leaves alone; none when the server only knows a loopback
  address, which means nothing inside a pod);
- ``kube-system/kube-dns``: clusterIP = the tenth address (10.96.0.10, the
  kubeadm convention), ports ``dns`` 53/UDP and ``dns-tcp`` 53/TCP.  Each node's
  proxy redirects that address to its node-local cluster DNS, so the Service
  needs no endpoints; holding the address keeps the allocator from giving it
  to another Service.

``plan_builtin_objects`` is pure (the objects for a service range and an API
address); ``ensure_builtin_services`` creates what is missing through the
API and refreshes the API server's endpoints when its address changed.  A
Service that cannot get its address (taken by a user's Service before this
ran) is logged and skipped: the server still starts.  A service range too small
to have a tenth address gets no ``kube-dns`` Service.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

from berth.api.addressplan import Address, AddressPlan, service_address
from berth.api.errors import AlreadyExists, APIError, Invalid
from berth.api.resources import Resource, by_key
from berth.client import Client, ClientError

Obj = dict[str, Any]
log = logging.getLogger(__name__)
MANAGED_BY = "berth-apiserver"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
API_INDEX = 1  # the kubernetes Service: the first address of the Service range


def _res(key: str) -> Resource:
    found = by_key(key)
    assert found is not None, f"{key} missing from berth.api.resources"
    return found


def _text(address: Address | None) -> str | None:
    """An address as the API spells it; None (the Service is not made) when there is none."""
    return str(address) if address is not None else None


def api_endpoint(url: str) -> tuple[str, int]:
    """``https://198.18.0.1:6443`` -> ``("198.18.0.1", 6443)``."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 443


def plan_builtin_objects(plan: AddressPlan, api_ip: str, api_port: int
                         ) -> list[tuple[str, Obj]]:
    """The built-in objects as ``(resource key, object)``, Services first."""
    kubernetes: Obj = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": _text(service_address(plan.service_cidr, API_INDEX)),
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                            "targetPort": api_port}]}}
    kube_dns: Obj = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
        "spec": {"type": "ClusterIP", "clusterIP": _text(plan.dns_ip),
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP",
                            "targetPort": 53}]}}
    # A loopback address means nothing inside a pod: then no endpoint (refused, not misrouted).
    reachable = not ipaddress.ip_address(api_ip).is_loopback
    endpoints = {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": api_ip}],
                     "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]}]
        if reachable else []}
    endpointslice = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {SERVICE_NAME_LABEL: "kubernetes",
                                "endpointslice.kubernetes.io/managed-by": MANAGED_BY}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [api_ip], "conditions": {"ready": True}}]
        if reachable else [],
        "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]}
    planned: list[tuple[str, Obj]] = [
        ("services", kubernetes), ("services", kube_dns), ("endpoints", endpoints),
        ("endpointslices.discovery.k8s.io", endpointslice)]
    return [(key, obj) for key, obj in planned
            if key != "services" or obj["spec"]["clusterIP"] is not None]


def _payload(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k in ("subsets", "endpoints", "ports")}


async def _ensure(client: Client, key: str, obj: Obj) -> None:
    res, meta = _res(key), obj["metadata"]
    try:
        await client.create(res, obj, meta["namespace"])
        log.info("created %s %s/%s", res.singular, meta["namespace"], meta["name"])
        return
    except AlreadyExists:
        pass
    if key == "services":
        return  # a Service's address is claimed once and kept
    current = await client.get(res, meta["namespace"], meta["name"])
    if _payload(current) != _payload(obj):
        await client.update(res, {**current, **_payload(obj)})
        log.info("updated %s %s/%s to the API server's address", res.singular,
                 meta["namespace"], meta["name"])


async def ensure_builtin_services(client: Client, plan: AddressPlan, api_url: str) -> None:
    """Create the built-in Services and the API server's endpoints (see the module doc)."""
    api_ip, api_port = api_endpoint(api_url)
    for key, obj in plan_builtin_objects(plan, api_ip, api_port):
        meta = obj["metadata"]
        try:
            await _ensure(client, key, obj)
        except Invalid as exc:
            log.warning("cannot create %s %s/%s: %s", key, meta["namespace"], meta["name"],
                        exc)
        except (APIError, ClientError) as exc:
            log.error("built-in %s %s/%s: %s", key, meta["namespace"], meta["name"], exc)
