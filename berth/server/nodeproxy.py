"""pods/log and pods/exec: forwarded to the node agent that runs the pod.

The node agent serves HTTPS at the node's InternalIP and
`status.daemonEndpoints.kubeletEndpoint.Port` (docs/api-server.md has the contract):

    GET /containerLogs/{ns}/{pod}/{container}?follow=&previous=&tailLines=&timestamps=
    GET /exec/{ns}/{pod}/{container}?command=...&stdin=&stdout=&stderr=&tty=   (WebSocket)

The API server authenticates to it with its kubelet-client bearer token. Logs are
streamed through chunk by chunk; exec accepts the client's WebSocket with the
subprotocol the node chose (v5.channel.k8s.io or v4.channel.k8s.io) and relays binary
frames both ways until either side closes. `plan_node_url` is the pure part.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web

from berth.api.errors import APIError, BadRequest, ServiceUnavailable, error_from_status
from berth.server.paths import Target
from berth.server.state import NodeClient, ServerState

Obj = dict[str, Any]
DEFAULT_KUBELET_PORT = 10250
LOG_PARAMS = ("follow", "previous", "tailLines", "timestamps", "sinceSeconds", "sinceTime",
              "limitBytes")
EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


def node_endpoint(node: Obj) -> tuple[str, int]:
    """(address, port) of a node agent, from the Node's status."""
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    address = next((a.get("address") for a in addresses if a.get("type") == "InternalIP"), None)
    if address is None and addresses:
        address = addresses[0].get("address")
    name = (node.get("metadata") or {}).get("name")
    if not address:
        raise ServiceUnavailable(f'node "{name}" has no address in status.addresses')
    port = (((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
            or DEFAULT_KUBELET_PORT)
    return str(address), int(port)


def pick_container(pod: Obj, requested: str | None) -> str:
    """The container a log/exec request means; BadRequest as kubectl words it."""
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in spec.get("containers") or []]
    init_names = [c.get("name") for c in spec.get("initContainers") or []]
    pod_name = (pod.get("metadata") or {}).get("name")
    if requested:
        if requested not in names and requested not in init_names:
            raise BadRequest(f"container {requested} is not valid for pod {pod_name}")
        return requested
    if len(names) == 1:
        return str(names[0])
    raise BadRequest(f"a container name must be specified for pod {pod_name}, "
                     f"choose one of: [{' '.join(str(n) for n in names)}]")


def plan_node_url(client: NodeClient, address: str, port: int, kind: str, namespace: str,
                  pod: str, container: str, query: list[tuple[str, str]]) -> str:
    host = f"[{address}]" if ":" in address else address
    path = "/".join(quote(p, safe="") for p in (kind, namespace, pod, container))
    qs = f"?{urlencode(query)}" if query else ""
    return f"{client.scheme}://{host}:{port}/{path}{qs}"


def _session(st: ServerState) -> aiohttp.ClientSession:
    """The server's one client session to node agents, created on first use."""
    if st.node_session is None or st.node_session.closed:
        ctx: ssl.SSLContext | bool = False
        if st.node_client.ca_file:
            ctx = ssl.create_default_context(cafile=st.node_client.ca_file)
        st.node_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ctx),
            timeout=aiohttp.ClientTimeout(total=None, connect=10))
    return st.node_session


async def _locate(st: ServerState, target: Target, container: str | None) -> tuple[Obj, str,
                                                                                    str, int]:
    assert target.name is not None
    pod = await st.store.get("pods", target.namespace or "", target.name)
    chosen = pick_container(pod, container)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise BadRequest(f'pod {target.name} does not have a host assigned')
    node = await st.store.get("nodes", "", node_name)
    address, port = node_endpoint(node)
    return pod, chosen, address, port


def _headers(client: NodeClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token}"} if client.token else {}


async def logs(request: web.Request, st: ServerState, target: Target) -> web.StreamResponse:
    if request.method != "GET":
        raise BadRequest("pods/log supports GET only")
    _, container, address, port = await _locate(st, target, request.query.get("container"))
    query = [(k, request.query[k]) for k in LOG_PARAMS if k in request.query]
    url = plan_node_url(st.node_client, address, port, "containerLogs", target.namespace or "",
                        target.name or "", container, query)
    session = _session(st)
    try:
        upstream = await session.get(url, headers=_headers(st.node_client))
    except (aiohttp.ClientError, OSError) as exc:
        raise ServiceUnavailable(f"cannot reach the node agent at {address}:{port}: {exc}") \
            from None
    async with upstream:
        if upstream.status != 200:
            raise _upstream_error(upstream.status, await upstream.text())
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        with contextlib.suppress(ConnectionResetError, aiohttp.ClientPayloadError):
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof()
        return resp


def _upstream_error(status: int, text: str) -> APIError:
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return error_from_status(body)
    return APIError(text.strip() or f"node agent answered {status}", code=status,
                    reason="InternalError" if status >= 500 else "BadRequest")


async def exec_(request: web.Request, st: ServerState, target: Target) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise BadRequest("pods/exec needs a WebSocket upgrade (v5.channel.k8s.io or "
                         "v4.channel.k8s.io); SPDY is not supported")
    _, container, address, port = await _locate(st, target, request.query.get("container"))
    query = [(k, v) for k, v in request.query.items()
             if k in ("command", "stdin", "stdout", "stderr", "tty")]
    url = plan_node_url(st.node_client, address, port, "exec", target.namespace or "",
                        target.name or "", container, query)
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    wanted = [p for p in offered if p in EXEC_PROTOCOLS] or list(EXEC_PROTOCOLS)
    session = _session(st)
    try:
        upstream = await session.ws_connect(url, protocols=wanted, headers=_headers(st.node_client),
                                            autoping=True, max_msg_size=0)
    except aiohttp.WSServerHandshakeError as exc:
        raise APIError(f"the node agent refused exec: {exc.message}", code=exc.status or 502,
                       reason="InternalError") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise ServiceUnavailable(f"cannot reach the node agent at {address}:{port}: {exc}") \
            from None
    chosen = upstream.protocol or wanted[0]
    client_ws = web.WebSocketResponse(protocols=(chosen,), max_msg_size=0)
    await client_ws.prepare(request)
    try:
        await _relay(client_ws, upstream)
    finally:
        await upstream.close()
        await client_ws.close()
    return client_ws


async def _relay(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """Copy frames both ways until one side closes."""

    async def to_node() -> None:
        async for msg in client:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await upstream.send_bytes(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                await upstream.send_str(msg.data)

    async def to_client() -> None:
        async for msg in upstream:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await client.send_bytes(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                await client.send_str(msg.data)

    tasks = [asyncio.ensure_future(to_node()), asyncio.ensure_future(to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
