"""Two API servers on one real etcd: Service IPs stay unique under concurrent creates."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.api.errors import Invalid
from berth.api.resources import by_key
from berth.client import Client, ClusterConfig
from berth.server import ServerConfig, start_server
from berth.testing.etcd import EtcdCluster

pytestmark = pytest.mark.etcd
SERVICES = by_key("services")


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[EtcdCluster]:
    cluster = EtcdCluster(tmp_path / "etcd", size=1)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": [{"port": 80}], **spec}}


async def test_concurrent_creates_through_two_servers(tmp_path: Path, etcd: EtcdCluster) -> None:
    assert SERVICES is not None
    servers = [await start_server(ServerConfig(data_dir=tmp_path / f"s{i}", port=0,
                                               datastore=etcd.url,
                                               service_cidr="10.96.0.0/27"))
               for i in range(2)]
    clients = [Client(ClusterConfig(server=s.url, ca_pem=s.pki.ca_cert.read_bytes(),
                                    token=s.admin_token)) for s in servers]
    try:
        made = await asyncio.gather(*(clients[i % 2].create(SERVICES, service(f"svc{i}"))
                                      for i in range(24)))
        ips = [m["spec"]["clusterIP"] for m in made]
        assert len(set(ips)) == 24
        free = next(f"10.96.0.{n}" for n in range(1, 31) if f"10.96.0.{n}" not in ips)
        await clients[0].create(SERVICES, service("pinned", clusterIP=free))
        with pytest.raises(Invalid, match="provided IP is already allocated"):
            await clients[1].create(SERVICES, service("again", clusterIP=free))
    finally:
        for client in clients:
            await client.close()
        for server in servers:
            await server.stop()
