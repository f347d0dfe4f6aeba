"""The built-in Services a berth server makes at start: kubernetes (10.96.0.1) and kube-dns.

A real API server with its controllers: both Services exist with the
conventional addresses, the API server's EndpointSlice names its port (and no
address, since this server only listens on loopback),
nobody else can take 10.96.0.10, and a restart on the same data changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from berth.api.errors import Invalid
from berth.api.resources import Resource, by_key
from berth.client import Client, ClusterConfig
from berth.controllers import ALL_CONTROLLERS
from berth.daemon.server import ServerProcessConfig, start_server_process
from berth.server import ServerConfig


def res(key: str) -> Resource:
    found = by_key(key)
    assert found is not None
    return found


SERVICES, SLICES = res("services"), res("endpointslices.discovery.k8s.io")


async def wait_get(client: Client, r: Resource, ns: str, name: str) -> dict[str, object]:
    for _ in range(50):
        try:
            return await client.get(r, ns, name)
        except Exception:
            await asyncio.sleep(0.1)
    return await client.get(r, ns, name)


async def test_builtin_services_hold_their_addresses_and_survive_restart(tmp_path: Path) -> None:
    config = ServerProcessConfig(ServerConfig(data_dir=tmp_path / "server", port=0),
                                 controllers=ALL_CONTROLLERS)
    for round_ in (1, 2):
        server = await start_server_process(config)
        client = Client(ClusterConfig(server=server.url,
                                      ca_pem=server.pki.ca_cert.read_bytes(),
                                      token=server.admin_token))
        try:
            dns = await wait_get(client, SERVICES, "kube-system", "kube-dns")
            spec = dns["spec"]
            assert isinstance(spec, dict) and spec["clusterIP"] == "10.96.0.10"
            assert {(p["name"], p["port"], p["protocol"]) for p in spec["ports"]} == {
                ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")}
            api = await wait_get(client, SERVICES, "default", "kubernetes")
            assert api["spec"]["clusterIP"] == "10.96.0.1"  # type: ignore[index]
            assert api["spec"]["ports"][0]["port"] == 443  # type: ignore[index]
            es = await wait_get(client, SLICES, "default", "kubernetes")
            assert not es.get("endpoints")  # loopback only: nothing a pod could reach
            assert es["ports"][0]["port"] == server.port  # type: ignore[index]
            if round_ == 1:
                with pytest.raises(Invalid, match=r"10\.96\.0\.10"):
                    await client.create(SERVICES, {
                        "apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": "thief", "namespace": "default"},
                        "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 53}]}},
                        "default")
            listed = await client.list(SERVICES)
            names = sorted(s["metadata"]["name"] for s in listed["items"])
            assert names == ["kube-dns", "kubernetes"], names
        finally:
            await client.close()
            await server.stop()
