"""The built-in Services' plan: addresses follow the service range, endpoints the API address."""

from __future__ import annotations

from typing import Any

from berth.api.addressplan import AddressPlan
from berth.controllers.bootstrap import api_endpoint, plan_builtin_objects


def by_name(objs: list[tuple[str, dict[str, Any]]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(key, obj["metadata"]["name"]): obj for key, obj in objs}


def test_addresses_are_the_first_and_tenth_of_any_service_range() -> None:
    objs = by_name(plan_builtin_objects(AddressPlan.parse(service_cidr="172.20.0.0/16"), "198.18.0.1", 6443))
    assert objs["services", "kubernetes"]["spec"]["clusterIP"] == "172.20.0.1"
    dns = objs["services", "kube-dns"]
    assert dns["metadata"]["namespace"] == "kube-system"
    assert dns["spec"]["clusterIP"] == "172.20.0.10"
    assert [(p["port"], p["protocol"]) for p in dns["spec"]["ports"]] == [(53, "UDP"),
                                                                          (53, "TCP")]
    es = objs["endpointslices.discovery.k8s.io", "kubernetes"]
    assert es["endpoints"][0]["addresses"] == ["198.18.0.1"]
    assert es["ports"][0]["port"] == 6443
    assert es["metadata"]["labels"]["kubernetes.io/service-name"] == "kubernetes"


def test_a_loopback_api_address_gives_no_endpoint_a_pod_would_misuse() -> None:
    ip, port = api_endpoint("https://127.0.0.1:27443")
    assert (ip, port) == ("127.0.0.1", 27443)
    objs = by_name(plan_builtin_objects(AddressPlan.parse(service_cidr="10.96.0.0/12"), ip, port))
    assert objs["endpointslices.discovery.k8s.io", "kubernetes"]["endpoints"] == []
    assert objs["endpoints", "kubernetes"]["subsets"] == []


def test_a_range_without_a_tenth_address_gets_no_kube_dns() -> None:
    objs = by_name(plan_builtin_objects(AddressPlan.parse(service_cidr="10.96.0.0/29"), "198.18.0.1", 6443))
    assert ("services", "kube-dns") not in objs
    assert objs["services", "kubernetes"]["spec"]["clusterIP"] == "10.96.0.1"
