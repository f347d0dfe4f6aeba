"""The node agent's HTTPS endpoint: container logs and exec for the API server.

Paths and protocol are the contract in docs/api-server.md:
``GET /containerLogs/{ns}/{pod}/{container}`` (follow, previous, tailLines,
timestamps, sinceTime, limitBytes; text/plain, chunked while following) and
``GET /exec/{ns}/{pod}/{container}?command=...`` upgraded to a WebSocket
speaking ``v5.channel.k8s.io`` or ``v4.channel.k8s.io`` (channel byte: 0
stdin, 1 stdout, 2 stderr, 3 status, 4 resize, 255 close).  Every request
must carry the API server's kubelet-client token; anything else is 401.
The exec session itself (pipes or a terminal) is ``berth.node.execws``.
Containers are found through the runtime's labels, so the endpoint answers
for pods adopted after an agent restart too.
"""

from __future__ import annotations

import asyncio
import hmac
import ssl
from pathlib import Path
from typing import Any

from aiohttp import web

from berth.node import labels
from berth.node.certs import ensure_serving_cert
from berth.node.context import NodeContext
from berth.node.execws import (
    PROTOCOLS,
    BadExecRequest,
    NoStreamingExec,
    plan_exec,
    run_session,
    start_session,
)
from berth.node.logs import follow_file, parse_cri_lines, render
from berth.node.runtime import errors as rterr
from berth.node.runtime.protocol import (
    ContainerFilter,
    ContainerState,
    ContainerStatus,
    PodSandboxFilter,
    SandboxState,
)

Obj = dict[str, Any]
CTX_KEY: web.AppKey[NodeContext] = web.AppKey("ctx", NodeContext)
TOKEN_KEY: web.AppKey[str] = web.AppKey("token", str)


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    return web.json_response(body, status=code)


@web.middleware
async def _authenticate(request: web.Request, handler: Any) -> web.StreamResponse:
    token = request.app[TOKEN_KEY]
    given = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return _status(401, "Unauthorized", "Unauthorized")
    result: web.StreamResponse = await handler(request)
    return result


async def find_container(ctx: NodeContext, ns: str, pod: str, name: str, previous: bool = False
                         ) -> ContainerStatus:
    """The pod's container by name, through runtime labels; NotFound as a 404 message."""
    rt = ctx.runtime
    sandboxes = await rt.list_pod_sandbox(PodSandboxFilter(
        label_selector={labels.POD_NAMESPACE: ns, labels.POD_NAME: pod}))
    if not sandboxes:
        raise rterr.NotFound(f'pod "{pod}" in namespace "{ns}" is not running on this node')
    ready = [s for s in sandboxes if s.state == SandboxState.READY]
    sandbox = (ready or sandboxes)[-1]
    found = []
    for c in await rt.list_containers(ContainerFilter(
            pod_sandbox_id=sandbox.id, label_selector={labels.CONTAINER_NAME: name})):
        found.append(await rt.container_status(c.id))
    found.sort(key=lambda s: (s.metadata.attempt, s.created_at))
    if previous:
        found = found[:-1]
        if not found:
            raise rterr.NotFound(f'previous terminated container "{name}" in pod "{pod}" '
                                 "not found")
    if not found:
        raise rterr.NotFound(f'container "{name}" in pod "{pod}" is waiting to start')
    return found[-1]


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


async def container_logs(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX_KEY]
    m = request.match_info
    try:
        status = await find_container(ctx, m["ns"], m["pod"], m["container"],
                                      _flag(request, "previous"))
    except rterr.NotFound as exc:
        return _status(404, "NotFound", str(exc))
    q = request.query
    try:
        tail = int(q["tailLines"]) if q.get("tailLines") else None
        limit = int(q.get("limitBytes") or 0)
    except ValueError:
        return _status(400, "BadRequest", "tailLines and limitBytes must be integers")
    timestamps, since = _flag(request, "timestamps"), q.get("sinceTime", "")
    path = Path(status.log_path)
    data = await asyncio.to_thread(_read_log, path)
    body = render(parse_cri_lines(data), tail=tail, timestamps=timestamps, since=since,
                  limit_bytes=limit)
    if not _flag(request, "follow") or status.state != ContainerState.RUNNING:
        return web.Response(body=body, content_type="text/plain")
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    await resp.write(body)
    offset = len(data) - len(data.rpartition(b"\n")[2])
    running = [True]

    async def watch_state() -> None:
        while running[0]:
            try:
                state = (await ctx.runtime.container_status(status.id)).state
                running[0] = state == ContainerState.RUNNING
            except rterr.NotFound:
                running[0] = False
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch_state())
    try:
        async for chunk in follow_file(path, offset, lambda: not running[0]):
            await resp.write(render(parse_cri_lines(chunk), timestamps=timestamps))
    finally:
        watcher.cancel()
    await resp.write_eof()
    return resp


async def exec_handler(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX_KEY]
    m = request.match_info
    query = {key: request.query.getall(key) for key in set(request.query.keys())}
    try:
        wanted = plan_exec(query)
        status = await find_container(ctx, m["ns"], m["pod"], m["container"])
        session = await start_session(ctx.runtime, status.id, wanted)
    except BadExecRequest as exc:
        return _status(400, "BadRequest", str(exc))
    except NoStreamingExec as exc:
        return _status(501, "NotImplemented", str(exc))
    except rterr.NotFound as exc:
        return _status(404, "NotFound", str(exc))
    except (rterr.RuntimeServiceError, OSError) as exc:
        return _status(500, "InternalError", str(exc))
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    try:
        await ws.prepare(request)
    except BaseException:
        session.kill()
        await session.wait()
        session.close()
        raise
    await run_session(ws, session)
    return ws


def create_endpoint_app(ctx: NodeContext, token: str) -> web.Application:
    app = web.Application(middlewares=[_authenticate])
    app[CTX_KEY] = ctx
    app[TOKEN_KEY] = token
    app.router.add_get("/containerLogs/{ns}/{pod}/{container}", container_logs)
    app.router.add_route("*", "/exec/{ns}/{pod}/{container}", exec_handler)
    return app


async def start_endpoint(ctx: NodeContext, pki: Path, host: str, port: int, token: str
                         ) -> web.AppRunner:
    cert, key = ensure_serving_cert(pki, ctx.node_name, ctx.host_ip)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    runner = web.AppRunner(create_endpoint_app(ctx, token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls)
    await site.start()
    return runner


def _read_log(path: Path) -> bytes:
    """The container's whole CRI log, empty if there is none (blocking)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
