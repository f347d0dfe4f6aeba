"""The client against a small stand-in server: URLs, auth header, errors, watch.

The integration tests in tests/integration/cli run the same client against the
real berth server; this stand-in pins the wire details that are hard to
provoke there (a Status on any code, a watch ERROR event, a dead port).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from berth.api.errors import Conflict, Gone, Invalid, NotFound
from berth.api.resources import resolve
from berth.client import Client, ClusterConfig, ConnectionFailed, resource_path

PODS = resolve("pods")
DS = resolve("ds")
assert PODS is not None and DS is not None


def test_resource_paths() -> None:
    assert resource_path(PODS, "default", "web") == "/api/v1/namespaces/default/pods/web"
    assert resource_path(PODS, None) == "/api/v1/pods"
    assert resource_path(DS, "kube-system") == "/apis/apps/v1/namespaces/kube-system/daemonsets"
    nodes = resolve("nodes")
    assert nodes is not None
    assert resource_path(nodes, "ignored", "n1", "status") == "/api/v1/nodes/n1/status"


def status(code: int, reason: str, message: str, **details: object) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": reason, "message": message, "details": details}
    return web.json_response(body, status=code)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Client, list[web.Request]]]:
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        name = request.match_info.get("name")
        if request.query.get("watch"):
            resp = web.StreamResponse()
            await resp.prepare(request)
            for event in ({"type": "ADDED", "object": {"metadata": {"name": "a"}}},
                          {"type": "ERROR", "object": {"kind": "Status", "code": 410,
                                                       "reason": "Expired", "message": "too old"}}):
                await resp.write(json.dumps(event).encode() + b"\n")
            return resp
        if name == "missing":
            return status(404, "NotFound", 'pods "missing" not found', name="missing", kind="pods")
        if name == "busy":
            return status(409, "Conflict", "modified")
        if request.method == "POST":
            return status(422, "Invalid", 'Pod "p" is invalid', name="p", kind="Pod",
                          causes=[{"reason": "FieldValueRequired", "field": "spec.containers",
                                   "message": "Required value"}])
        if request.method == "PATCH":
            return web.json_response({"contentType": request.content_type,
                                      "body": await request.json()})
        return web.json_response({"kind": "Pod", "metadata": {"name": name}})

    app = web.Application()
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods", handler)
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods/{name}", handler)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    client = Client(ClusterConfig(server=f"http://127.0.0.1:{srv.port}", token="tok"))
    try:
        yield client, seen
    finally:
        await client.close()
        await srv.close()


async def test_get_sends_bearer_token(server: tuple[Client, list[web.Request]]) -> None:
    client, seen = server
    assert (await client.get(PODS, "default", "web"))["metadata"]["name"] == "web"
    assert seen[0].headers["Authorization"] == "Bearer tok"


async def test_status_errors_become_api_error_types(
        server: tuple[Client, list[web.Request]]) -> None:
    client, _ = server
    with pytest.raises(NotFound, match='pods "missing" not found'):
        await client.get(PODS, "default", "missing")
    with pytest.raises(Conflict):
        await client.delete(PODS, "default", "busy")
    with pytest.raises(Invalid) as info:
        await client.create(PODS, {"metadata": {"name": "p", "namespace": "default"}})
    assert info.value.details["causes"][0]["field"] == "spec.containers"


async def test_patch_sends_strategic_merge_content_type(
        server: tuple[Client, list[web.Request]]) -> None:
    client, _ = server
    echo = await client.patch(PODS, "default", "web", {"metadata": {"labels": {"a": "b"}}})
    assert echo["contentType"] == "application/strategic-merge-patch+json"
    assert echo["body"] == {"metadata": {"labels": {"a": "b"}}}


async def test_watch_yields_events_and_raises_on_error_event(
        server: tuple[Client, list[web.Request]]) -> None:
    client, seen = server
    events = []
    with pytest.raises(Gone, match="too old"):
        async for event in client.watch(PODS, "default", resource_version="7"):
            events.append(event)
    assert [e["type"] for e in events] == ["ADDED"]
    assert seen[0].query["resourceVersion"] == "7"


async def test_dead_port_is_connection_failed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Client(ClusterConfig(server=f"https://127.0.0.1:{port}")) as client:
        with pytest.raises(ConnectionFailed, match=f"https://127.0.0.1:{port}"):
            await client.get(PODS, "default", "x")
