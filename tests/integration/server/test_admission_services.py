"""Service ClusterIPs and NodePorts through a real API server's create/update/delete path.

The server is bare (no controllers): admission is the server's own. Each server
first gets the two Services a cluster always has (what the controllers' bootstrap
makes): ``default/kubernetes`` on the first address of the Service range and
``kube-system/kube-dns`` on the tenth, when the range has one.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from berth.api.errors import InternalError, Invalid, NotFound
from berth.api.resources import Resource, by_key
from berth.client import Client, ClusterConfig
from berth.server import ServerConfig, start_server
from berth.server.run import RunningServer

Obj = dict[str, Any]


def _res(key: str) -> Resource:
    found = by_key(key)
    assert found is not None
    return found


@dataclass
class Api:
    """A running bare API server and an admin client."""

    SERVICES = _res("services")

    server: RunningServer
    client: Client

    async def get(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        return await self.client.get(resource, namespace, name)



async def start_api(data_dir: Path, *, builtin: bool = True, **config: Any) -> Api:
    server = await start_server(ServerConfig(data_dir=data_dir, port=0, **config))
    client = Client(ClusterConfig(server=server.url, ca_pem=server.pki.ca_cert.read_bytes(),
                                  token=server.admin_token))
    api = Api(server, client)
    if builtin:
        network = ipaddress.ip_network(config.get("service_cidr", "10.96.0.0/12"))
        builtins = (("default", "kubernetes", 1, 443), ("kube-system", "kube-dns", 10, 53))
        for namespace, name, index, port in builtins:
            if index < network.num_addresses - 1:
                await client.create(api.SERVICES, {
                    "apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": {"clusterIP": str(network[index]), "ports": [{"port": port}]}},
                    namespace)
    return api


async def stop_api(api: Api) -> None:
    await api.client.close()
    await api.server.stop()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    running = await start_api(tmp_path / "server", service_cidr="10.96.0.0/28")
    try:
        yield running
    finally:
        await stop_api(running)


@pytest.fixture
def restartable(tmp_path: Path) -> Callable[..., Awaitable[Api]]:
    """Start (or restart, builtin=False) a server on one data directory; the test stops it."""
    async def start(**config: Any) -> Api:
        return await start_api(tmp_path / "server", **config)
    return start


def service(name: str, **spec: Any) -> Obj:
    body: Obj = {"ports": [{"port": 80}], **spec}
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"}, "spec": body}


async def create(api: Api, name: str, **spec: Any) -> Obj:
    return dict(await api.client.create(api.SERVICES, service(name, **spec)))


async def test_cluster_ip_allocated_from_the_range(api: Api) -> None:
    svc = await create(api, "web")
    ip = svc["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/28")
    assert ip not in ("10.96.0.0", "10.96.0.15")
    assert svc["spec"]["clusterIPs"] == [ip]
    stored = await api.get(api.SERVICES, "default", "web")
    assert stored["spec"]["clusterIP"] == ip


async def test_explicit_ip_honoured_out_of_range_and_taken_refused(api: Api) -> None:
    svc = await create(api, "dns", clusterIP="10.96.0.12")
    assert svc["spec"]["clusterIPs"] == ["10.96.0.12"]
    with pytest.raises(Invalid) as err:
        await create(api, "outside", clusterIP="10.0.0.1")
    assert str(err.value) == (
        'Service "outside" is invalid: spec.clusterIPs[0]: Invalid value: "10.0.0.1": '
        "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/28")
    with pytest.raises(Invalid) as err:
        await create(api, "dup", clusterIP="10.96.0.12")
    assert str(err.value) == ('Service "dup" is invalid: spec.clusterIPs[0]: Invalid value: '
                              '"10.96.0.12": provided IP is already allocated')


async def test_headless_gets_none_and_delete_releases(api: Api) -> None:
    headless = await create(api, "h", clusterIP="None")
    assert headless["spec"]["clusterIP"] == "None"
    await create(api, "a", clusterIP="10.96.0.5")
    await api.client.delete(api.SERVICES, "default", "a")
    again = await create(api, "b", clusterIP="10.96.0.5")
    assert again["spec"]["clusterIP"] == "10.96.0.5"


async def test_concurrent_creates_never_share_an_ip_and_full_range_is_an_error(
        api: Api) -> None:
    # 14 usable addresses, 2 held by the built-in kubernetes and kube-dns Services
    results = await asyncio.gather(*(create(api, f"s{i}") for i in range(12)))
    ips = [r["spec"]["clusterIP"] for r in results]
    assert len(set(ips)) == 12
    with pytest.raises(InternalError, match="failed to allocate a serviceIP: range is full"):
        await create(api, "one-too-many")
    # the refused create claimed nothing: deleting one frees exactly one IP
    await api.client.delete(api.SERVICES, "default", "s0")
    assert (await create(api, "late"))["spec"]["clusterIP"] == ips[0]


async def test_node_ports_allocated_honoured_and_conflicts_refused(api: Api) -> None:
    svc = await create(api, "np", type="NodePort",
                       ports=[{"name": "a", "port": 80}, {"name": "b", "port": 81,
                                                          "nodePort": 30080}])
    ports = svc["spec"]["ports"]
    assert 30000 <= ports[0]["nodePort"] <= 32767
    assert ports[1]["nodePort"] == 30080
    with pytest.raises(Invalid) as err:
        await create(api, "np2", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    assert str(err.value) == ('Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: '
                              "30080: provided port is already allocated")
    with pytest.raises(Invalid) as err:
        await create(api, "np3", type="NodePort", ports=[{"port": 80, "nodePort": 29999}])
    assert str(err.value).endswith(
        "29999: provided port is not in the valid range. The range of valid ports is "
        "30000-32767")
    # the refused creates stored nothing and kept no ClusterIP
    for name in ("np2", "np3"):
        with pytest.raises(NotFound):
            await api.get(api.SERVICES, "default", name)
    ips = [(await create(api, f"fill{i}"))["spec"]["clusterIP"] for i in range(11)]
    assert len(set(ips)) == 11  # 14 usable: np and the 2 built-in Services hold 3


async def test_type_changes_claim_and_release_node_ports(api: Api) -> None:
    svc = await create(api, "web", type="NodePort", ports=[{"port": 80, "nodePort": 30100}])
    ip = svc["spec"]["clusterIP"]
    patched = await api.client.patch(api.SERVICES, "default", "web",
                                         {"spec": {"type": "ClusterIP"}})
    assert "nodePort" not in patched["spec"]["ports"][0]
    assert patched["spec"]["clusterIP"] == ip
    other = await create(api, "other", type="NodePort",
                         ports=[{"port": 80, "nodePort": 30100}])
    assert other["spec"]["ports"][0]["nodePort"] == 30100
    # a PUT that leaves clusterIP out keeps the allocated one
    current = await api.get(api.SERVICES, "default", "web")
    current["spec"].pop("clusterIP")
    current["spec"].pop("clusterIPs")
    replaced = await api.client.update(api.SERVICES, current)
    assert replaced["spec"]["clusterIP"] == ip


async def test_external_name_and_load_balancer(api: Api) -> None:
    svc = await create(api, "web", clusterIP="10.96.0.4")
    await api.client.patch(api.SERVICES, "default", "web", {
        "spec": {"type": "ExternalName", "externalName": "example.internal", "ports": None}},
        patch_type="merge")
    moved = await api.get(api.SERVICES, "default", "web")
    assert not moved["spec"].get("clusterIP")
    assert svc["spec"]["clusterIP"] == "10.96.0.4"
    reused = await create(api, "reuse", clusterIP="10.96.0.4")  # released by the change
    assert reused["spec"]["clusterIP"] == "10.96.0.4"
    external = await create(api, "ext", type="ExternalName", externalName="db.internal")
    assert not external["spec"].get("clusterIP")
    balanced = await create(api, "lb", type="LoadBalancer")
    assert balanced["spec"]["clusterIP"]
    assert 30000 <= balanced["spec"]["ports"][0]["nodePort"] <= 32767


async def test_allocations_survive_a_restart(
        restartable: Callable[..., Awaitable[Api]]) -> None:
    first = await restartable(service_cidr="10.96.0.0/29")
    try:
        # 6 usable addresses; the built-in kubernetes Service holds the first
        taken = {(await create(first, f"s{i}"))["spec"]["clusterIP"] for i in range(4)}
    finally:
        await first.client.close()
        await first.server.stop()
    second = await restartable(service_cidr="10.96.0.0/29", builtin=False)
    try:
        last = await create(second, "s4")
        assert last["spec"]["clusterIP"] not in taken
        with pytest.raises(InternalError):
            await create(second, "s5")
    finally:
        await second.client.close()
        await second.server.stop()
