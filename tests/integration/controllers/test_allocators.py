"""Service ClusterIPs and NodePorts through the real create/update/delete path."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from berth.api.errors import InternalError, Invalid, NotFound

Cluster = Any
Obj = dict[str, Any]


def service(name: str, **spec: Any) -> Obj:
    body: Obj = {"ports": [{"port": 80}], **spec}
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"}, "spec": body}


async def create(cluster: Cluster, name: str, **spec: Any) -> Obj:
    return dict(await cluster.client.create(cluster.SERVICES, service(name, **spec)))


async def test_cluster_ip_allocated_from_the_range(cluster: Cluster) -> None:
    svc = await create(cluster, "web")
    ip = svc["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/28")
    assert ip not in ("10.96.0.0", "10.96.0.15")
    assert svc["spec"]["clusterIPs"] == [ip]
    stored = await cluster.get(cluster.SERVICES, "default", "web")
    assert stored["spec"]["clusterIP"] == ip


async def test_explicit_ip_honoured_out_of_range_and_taken_refused(cluster: Cluster) -> None:
    svc = await create(cluster, "dns", clusterIP="10.96.0.12")
    assert svc["spec"]["clusterIPs"] == ["10.96.0.12"]
    with pytest.raises(Invalid) as err:
        await create(cluster, "outside", clusterIP="10.0.0.1")
    assert str(err.value) == (
        'Service "outside" is invalid: spec.clusterIPs[0]: Invalid value: "10.0.0.1": '
        "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/28")
    with pytest.raises(Invalid) as err:
        await create(cluster, "dup", clusterIP="10.96.0.12")
    assert str(err.value) == ('Service "dup" is invalid: spec.clusterIPs[0]: Invalid value: '
                              '"10.96.0.12": provided IP is already allocated')


async def test_headless_gets_none_and_delete_releases(cluster: Cluster) -> None:
    headless = await create(cluster, "h", clusterIP="None")
    assert headless["spec"]["clusterIP"] == "None"
    await create(cluster, "a", clusterIP="10.96.0.5")
    await cluster.client.delete(cluster.SERVICES, "default", "a")
    again = await create(cluster, "b", clusterIP="10.96.0.5")
    assert again["spec"]["clusterIP"] == "10.96.0.5"


async def test_concurrent_creates_never_share_an_ip_and_full_range_is_an_error(
        cluster: Cluster) -> None:
    # 14 usable addresses, 2 held by the built-in kubernetes and kube-dns Services
    results = await asyncio.gather(*(create(cluster, f"s{i}") for i in range(12)))
    ips = [r["spec"]["clusterIP"] for r in results]
    assert len(set(ips)) == 12
    with pytest.raises(InternalError, match="failed to allocate a serviceIP: range is full"):
        await create(cluster, "one-too-many")
    # the refused create claimed nothing: deleting one frees exactly one IP
    await cluster.client.delete(cluster.SERVICES, "default", "s0")
    assert (await create(cluster, "late"))["spec"]["clusterIP"] == ips[0]


async def test_node_ports_allocated_honoured_and_conflicts_refused(cluster: Cluster) -> None:
    svc = await create(cluster, "np", type="NodePort",
                       ports=[{"name": "a", "port": 80}, {"name": "b", "port": 81,
                                                          "nodePort": 30080}])
    ports = svc["spec"]["ports"]
    assert 30000 <= ports[0]["nodePort"] <= 32767
    assert ports[1]["nodePort"] == 30080
    with pytest.raises(Invalid) as err:
        await create(cluster, "np2", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    assert str(err.value) == ('Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: '
                              "30080: provided port is already allocated")
    with pytest.raises(Invalid) as err:
        await create(cluster, "np3", type="NodePort", ports=[{"port": 80, "nodePort": 29999}])
    assert str(err.value).endswith(
        "29999: provided port is not in the valid range. The range of valid ports is "
        "30000-32767")
    # the refused creates stored nothing and kept no ClusterIP
    for name in ("np2", "np3"):
        with pytest.raises(NotFound):
            await cluster.get(cluster.SERVICES, "default", name)
    ips = [(await create(cluster, f"fill{i}"))["spec"]["clusterIP"] for i in range(11)]
    assert len(set(ips)) == 11  # 14 usable: np and the 2 built-in Services hold 3


async def test_type_changes_claim_and_release_node_ports(cluster: Cluster) -> None:
    svc = await create(cluster, "web", type="NodePort", ports=[{"port": 80, "nodePort": 30100}])
    ip = svc["spec"]["clusterIP"]
    patched = await cluster.client.patch(cluster.SERVICES, "default", "web",
                                         {"spec": {"type": "ClusterIP"}})
    assert "nodePort" not in patched["spec"]["ports"][0]
    assert patched["spec"]["clusterIP"] == ip
    other = await create(cluster, "other", type="NodePort",
                         ports=[{"port": 80, "nodePort": 30100}])
    assert other["spec"]["ports"][0]["nodePort"] == 30100
    # a PUT that leaves clusterIP out keeps the allocated one
    current = await cluster.get(cluster.SERVICES, "default", "web")
    current["spec"].pop("clusterIP")
    current["spec"].pop("clusterIPs")
    replaced = await cluster.client.update(cluster.SERVICES, current)
    assert replaced["spec"]["clusterIP"] == ip


async def test_external_name_and_load_balancer(cluster: Cluster) -> None:
    svc = await create(cluster, "web", clusterIP="10.96.0.4")
    await cluster.client.patch(cluster.SERVICES, "default", "web", {
        "spec": {"type": "ExternalName", "externalName": "example.internal", "ports": None}},
        patch_type="merge")
    moved = await cluster.get(cluster.SERVICES, "default", "web")
    assert not moved["spec"].get("clusterIP")
    assert svc["spec"]["clusterIP"] == "10.96.0.4"
    reused = await create(cluster, "reuse", clusterIP="10.96.0.4")  # released by the change
    assert reused["spec"]["clusterIP"] == "10.96.0.4"
    external = await create(cluster, "ext", type="ExternalName", externalName="db.internal")
    assert not external["spec"].get("clusterIP")
    balanced = await create(cluster, "lb", type="LoadBalancer")
    assert balanced["spec"]["clusterIP"]
    assert 30000 <= balanced["spec"]["ports"][0]["nodePort"] <= 32767


async def test_allocations_survive_a_restart(
        restartable: Callable[..., Awaitable[Cluster]]) -> None:
    first = await restartable(service_cidr="10.96.0.0/29")
    try:
        # 6 usable addresses; the built-in kubernetes Service holds the first
        taken = {(await create(first, f"s{i}"))["spec"]["clusterIP"] for i in range(4)}
    finally:
        await first.client.close()
        await first.server.stop()
    second = await restartable(service_cidr="10.96.0.0/29")
    try:
        last = await create(second, "s4")
        assert last["spec"]["clusterIP"] not in taken
        with pytest.raises(InternalError):
            await create(second, "s5")
    finally:
        await second.client.close()
        await second.server.stop()
