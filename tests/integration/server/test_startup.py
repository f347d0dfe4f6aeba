"""First start and restart: PKI, tokens, kubeconfig, configuration errors, OpenAPI, etcd."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from cryptography import x509

from berth.server import ServerConfig, start_server
from berth.server.errors import ConfigError, TokenFileError
from berth.server.run import RunningServer
from berth.testing.etcd import EtcdCluster


async def _get(running: RunningServer, path: str) -> tuple[int, Any]:
    ctx = ssl.create_default_context(cafile=str(running.pki.ca_cert))
    async with aiohttp.ClientSession(running.url, connector=aiohttp.TCPConnector(ssl=ctx),
                                     headers={"Authorization": f"Bearer {running.admin_token}"}
                                     ) as session, session.get(path) as resp:
        return resp.status, await resp.json()


async def test_restart_reuses_ca_token_and_objects(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "home" / ".kube" / "config"
    config = ServerConfig(data_dir=tmp_path / "data", port=0, kubeconfig_path=kubeconfig,
                          advertise_addresses=("198.18.0.1",), sans=("berth.example",))
    first = await start_server(config)
    try:
        ca_before = first.pki.ca_cert.read_bytes()
        token = first.admin_token
        written = yaml.safe_load(kubeconfig.read_text())
        assert written["current-context"] == "berth"
        assert written["clusters"][0]["cluster"]["server"] == first.url
        assert written["users"][0]["user"]["token"] == token
        cert = x509.load_pem_x509_certificate(first.pki.server_cert.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "berth.example" in sans.get_values_for_type(x509.DNSName)
        assert {str(i) for i in sans.get_values_for_type(x509.IPAddress)} >= {
            "127.0.0.1", "198.18.0.1"}
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kept"}}
        await first.store.create("namespaces", ns)
    finally:
        await first.stop()
    second = await start_server(config)
    try:
        assert second.pki.ca_cert.read_bytes() == ca_before
        assert second.admin_token == token
        status, body = await _get(second, "/api/v1/namespaces/kept")
        assert status == 200 and body["metadata"]["name"] == "kept"
    finally:
        await second.stop()


async def test_bad_configuration_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="datastore"):
        await start_server(ServerConfig(data_dir=tmp_path, port=0, datastore="mysql://x"))
    with pytest.raises(ConfigError, match="advertise_addresses"):
        await start_server(ServerConfig(data_dir=tmp_path, port=0,
                                        advertise_addresses=("not-an-ip",)))
    (tmp_path / "tokens.csv").write_text("only-a-token\n")
    with pytest.raises(TokenFileError, match=r"tokens.csv:1"):
        await start_server(ServerConfig(data_dir=tmp_path, port=0))


async def test_openapi_v3_declares_field_validation(api: aiohttp.ClientSession) -> None:
    async with api.get("/openapi/v3") as resp:
        index = (await resp.json())["paths"]
    assert {"api/v1", "apis/apps/v1"} <= set(index)
    async with api.get(index["api/v1"]["serverRelativeURL"]) as resp:
        doc = await resp.json()
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1",
                                                        "kind": "Pod"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    schemas = doc["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1",
                                                       "kind": "Pod"}]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    async with api.get("/openapi/v2") as resp:
        assert resp.status == 404


@pytest.mark.etcd
async def test_serves_from_etcd(tmp_path: Path) -> None:
    with EtcdCluster(tmp_path / "etcd", size=1) as cluster:
        running = await start_server(ServerConfig(data_dir=tmp_path / "data", port=0,
                                                  datastore=cluster.url))
        try:
            status, body = await _get(running, "/api/v1/namespaces")
            assert status == 200
            assert "kube-system" in {n["metadata"]["name"] for n in body["items"]}
        finally:
            await running.stop()


async def test_stop_ends_open_watches_promptly(tmp_path: Path) -> None:
    running = await start_server(ServerConfig(data_dir=tmp_path, port=0))
    ctx = ssl.create_default_context(cafile=str(running.pki.ca_cert))
    headers = {"Authorization": f"Bearer {running.admin_token}"}
    async with aiohttp.ClientSession(running.url, connector=aiohttp.TCPConnector(ssl=ctx),
                                     headers=headers) as session, \
            session.get("/api/v1/pods", params={"watch": "true"}) as resp:
        assert resp.status == 200  # the stream is open (headers sent, no events yet)
        started = time.monotonic()
        await running.stop()
        assert time.monotonic() - started < 4
        with contextlib.suppress(aiohttp.ClientPayloadError):
            assert await asyncio.wait_for(resp.content.read(), 5) == b""
