"""pods/log and pods/exec are forwarded to the node agent (a fake one here, on loopback
HTTPS) with the kubelet-client token; log streams and WebSocket frames pass through."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from berth.server.pki import ensure_pki

PODS = "/api/v1/namespaces/default/pods"


@dataclass
class FakeNode:
    port: int
    token: str
    requests: list[tuple[str, dict[str, str], str]] = field(default_factory=list)


async def _nothing() -> AsyncIterator[Any]:
    empty: tuple[Any, ...] = ()
    for item in empty:
        yield item


async def _fake_node_app(node: FakeNode) -> web.Application:
    def authorized(request: web.Request) -> None:
        node.requests.append((request.path, dict(request.query),
                              request.headers.get("Authorization", "")))
        if request.headers.get("Authorization") != f"Bearer {node.token}":
            raise web.HTTPUnauthorized()

    async def container_logs(request: web.Request) -> web.StreamResponse:
        authorized(request)
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        await resp.write(b"line one\n")
        if request.query.get("follow") == "true":
            await asyncio.sleep(0.2)
            await resp.write(b"line two\n")
        await resp.write_eof()
        return resp

    async def exec_handler(request: web.Request) -> web.StreamResponse:
        authorized(request)
        ws = web.WebSocketResponse(protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"))
        await ws.prepare(request)
        command = request.query.getall("command")
        await ws.send_bytes(b"\x01" + " ".join(command[1:]).encode() + b"\n")
        async for msg in ws if request.query.get("stdin") == "true" else _nothing():
            if msg.type != aiohttp.WSMsgType.BINARY:
                continue
            if msg.data[:1] == b"\x00":  # stdin: echo it on stdout
                await ws.send_bytes(b"\x01" + msg.data[1:])
            if msg.data[:2] == b"\xff\x00":  # v5: the client closed stdin
                break
        await ws.send_bytes(b"\x03" + json.dumps({"kind": "Status", "apiVersion": "v1",
                                                  "status": "Success"}).encode())
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/containerLogs/{ns}/{pod}/{container}", container_logs)
    app.router.add_get("/exec/{ns}/{pod}/{container}", exec_handler)
    return app


@pytest.fixture
async def fake_node(live_server: Any, tmp_path: Path) -> AsyncIterator[FakeNode]:
    pki = ensure_pki(tmp_path / "node-pki")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    token = (live_server.data_dir / "pki" / "kubelet-client.token").read_text().strip()
    node = FakeNode(0, token)
    runner = web.AppRunner(await _fake_node_app(node))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    node.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield node
    finally:
        await runner.cleanup()


async def _pod_on_node(api: aiohttp.ClientSession, node: FakeNode, pod_name: str,
                       make_pod: Any) -> None:
    node_obj = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"fake-{pod_name}"},
                "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                           "daemonEndpoints": {"kubeletEndpoint": {"Port": node.port}}}}
    async with api.post("/api/v1/nodes", json=node_obj) as resp:
        assert resp.status == 201, await resp.text()
    async with api.post(PODS, json=make_pod(pod_name)) as resp:
        assert resp.status == 201
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod_name},
               "target": {"kind": "Node", "name": f"fake-{pod_name}"}}
    async with api.post(f"{PODS}/{pod_name}/binding", json=binding) as resp:
        assert resp.status == 201


async def test_logs_are_streamed_from_the_node(api: aiohttp.ClientSession, fake_node: FakeNode,
                                               make_pod: Any) -> None:
    await _pod_on_node(api, fake_node, "logger", make_pod)
    async with api.get(f"{PODS}/logger/log", params={"tailLines": "5"}) as resp:
        assert resp.status == 200
        assert await resp.text() == "line one\n"
    path, query, auth = fake_node.requests[-1]
    assert path == "/containerLogs/default/logger/main"
    assert query == {"tailLines": "5"}
    assert auth == f"Bearer {fake_node.token}"
    async with api.get(f"{PODS}/logger/log", params={"follow": "true"}) as resp:
        first = await resp.content.readline()
        assert first == b"line one\n"
        assert await resp.content.readline() == b"line two\n"
    async with api.get(f"{PODS}/logger/log", params={"container": "nope"}) as resp:
        assert resp.status == 400


async def test_exec_relays_websocket_frames(api: aiohttp.ClientSession, fake_node: FakeNode,
                                            make_pod: Any) -> None:
    await _pod_on_node(api, fake_node, "shell", make_pod)
    query = [("command", "echo"), ("command", "hello"), ("stdin", "true"), ("stdout", "true")]
    async with api.ws_connect(f"{PODS}/shell/exec", params=query,
                              protocols=("v5.channel.k8s.io",)) as ws:
        assert ws.protocol == "v5.channel.k8s.io"
        first = await asyncio.wait_for(ws.receive_bytes(), 5)
        assert first == b"\x01hello\n"
        await ws.send_bytes(b"\x00typed\n")
        assert await asyncio.wait_for(ws.receive_bytes(), 5) == b"\x01typed\n"
        await ws.send_bytes(b"\xff\x00")
        status = await asyncio.wait_for(ws.receive_bytes(), 5)
        assert status[:1] == b"\x03"
        assert json.loads(status[1:])["status"] == "Success"
    path, query_seen, _ = fake_node.requests[-1]
    assert path == "/exec/default/shell/main"
    assert query_seen["stdin"] == "true"


async def test_exec_without_node_is_an_error(api: aiohttp.ClientSession, make_pod: Any) -> None:
    async with api.post(PODS, json=make_pod("unbound-exec")):
        pass
    async with api.get(f"{PODS}/unbound-exec/exec", params={"command": "ls"},
                       headers={"Upgrade": "websocket", "Connection": "Upgrade"}) as resp:
        assert resp.status == 400
        assert "does not have a host assigned" in (await resp.json())["message"]


async def _kubectl(live_server: Any, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = dict(os.environ, KUBECONFIG=str(live_server.kubeconfig), HOME=str(tmp_path))
    proc = await asyncio.create_subprocess_exec(
        "kubectl", "--cache-dir", str(tmp_path / "cache"), *args, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.kubectl
async def test_kubectl_logs_and_exec(api: aiohttp.ClientSession, live_server: Any,
                                     fake_node: FakeNode, make_pod: Any, tmp_path: Path) -> None:
    await _pod_on_node(api, fake_node, "kc-shell", make_pod)
    code, out, err = await _kubectl(live_server, tmp_path, "logs", "kc-shell")
    assert (code, out) == (0, "line one\n"), err
    code, out, err = await _kubectl(live_server, tmp_path, "exec", "kc-shell", "--", "echo",
                                    "hello", "world")
    assert (code, out) == (0, "hello world\n"), err
