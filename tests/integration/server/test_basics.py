"""The server's front door: TLS, tokens, health, discovery, errors as Status."""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp


async def test_health_is_anonymous_but_everything_else_needs_a_token(live_server: Any) -> None:
    connector = aiohttp.TCPConnector(ssl=live_server.ssl_context())
    async with aiohttp.ClientSession(live_server.url, connector=connector) as anon:
        async with anon.get("/healthz") as resp:
            assert resp.status == 200
            assert await resp.text() == "ok"
        for path in ("/version", "/api", "/api/v1/namespaces/default/pods"):
            async with anon.get(path) as resp:
                assert resp.status == 401, path
                body = await resp.json()
                assert body["kind"] == "Status" and body["reason"] == "Unauthorized"
        async with anon.get("/api", headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401


async def test_tls_certificate_is_signed_by_the_cluster_ca(live_server: Any) -> None:
    untrusting = ssl.create_default_context()  # system CAs only: must fail
    connector = aiohttp.TCPConnector(ssl=untrusting)
    async with aiohttp.ClientSession(live_server.url, connector=connector) as session:
        try:
            async with session.get("/healthz"):
                raise AssertionError("the handshake should fail without the berth CA")
        except aiohttp.ClientConnectorCertificateError:
            pass


async def test_version_reports_kubernetes_1_31(api: aiohttp.ClientSession) -> None:
    async with api.get("/version") as resp:
        info = await resp.json()
    assert info["major"] == "1" and info["minor"] == "31"
    assert info["gitVersion"].startswith("v1.31.")


async def test_discovery_documents(api: aiohttp.ClientSession) -> None:
    async with api.get("/api") as resp:
        assert (await resp.json())["versions"] == ["v1"]
    async with api.get("/apis") as resp:
        names = {g["name"] for g in (await resp.json())["groups"]}
    assert {"apps", "discovery.k8s.io", "coordination.k8s.io"} <= names
    async with api.get("/api/v1") as resp:
        doc = await resp.json()
    by_name = {r["name"]: r for r in doc["resources"]}
    assert by_name["pods"]["namespaced"] is True
    assert by_name["pods"]["shortNames"] == ["po"]
    assert "watch" in by_name["pods"]["verbs"]
    assert by_name["nodes"]["namespaced"] is False
    for sub in ("pods/status", "pods/log", "pods/exec", "pods/binding"):
        assert sub in by_name, sub
    async with api.get("/apis/apps/v1") as resp:
        doc = await resp.json()
    assert [r["kind"] for r in doc["resources"] if r["name"] == "daemonsets"] == ["DaemonSet"]


async def test_builtin_namespaces_exist(api: aiohttp.ClientSession) -> None:
    async with api.get("/api/v1/namespaces") as resp:
        body = await resp.json()
    names = {n["metadata"]["name"] for n in body["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    assert body["kind"] == "NamespaceList"


async def test_unknown_resource_is_404_naming_it(api: aiohttp.ClientSession) -> None:
    async with api.get("/api/v1/namespaces/default/widgets") as resp:
        assert resp.status == 404
        body = await resp.json()
    assert body["kind"] == "Status" and body["code"] == 404
    assert "widgets" in body["message"]
    async with api.get("/apis/nothere.io/v1/things") as resp:
        assert resp.status == 404
