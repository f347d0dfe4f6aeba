"""The aiohttp application: middlewares, routes, and the dispatch of REST verbs.

`create_app` wires a `ServerState` into an `web.Application`:

- the error middleware turns every `APIError` (and aiohttp's own 404/405/413) into a
  Kubernetes `Status` with the right code, and anything unexpected into a 500
  InternalError, never a traceback on the wire;
- the auth middleware requires a valid bearer token on every path except the health
  checks (401 Status otherwise);
- discovery, OpenAPI and health routes are served from `discovery`/`openapi`;
- `/api/v1/...` and `/apis/{group}/{version}/...` go to `serve_resource`, which
  resolves the path (`paths.parse_target`) and hands the verb to `reads`, `watch`,
  `writes`, `deletes` or `nodeproxy`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiohttp import web

from berth.api.errors import (
    APIError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    Unauthorized,
    internal_error,
)
from berth.server import deletes, discovery, nodeproxy, openapi, reads, writes
from berth.server.admission import Admission
from berth.server.auth import Authenticator, UserInfo
from berth.server.negotiate import choose_output, list_options
from berth.server.paths import Target, not_found_path, parse_target
from berth.server.render import json_response, status_response
from berth.server.state import STATE, NodeClient, ServerState
from berth.server.watch import watch
from berth.store.base import Store

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ANONYMOUS_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
USER: web.RequestKey[UserInfo] = web.RequestKey("berth_user", UserInfo)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except APIError as err:
        return status_response(err)
    except web.HTTPNotFound:
        return status_response(not_found_path(request.path))
    except web.HTTPMethodNotAllowed:
        return status_response(MethodNotAllowed(
            f"the server does not allow this method on the requested resource ({request.method})"))
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[STATE].max_body_bytes
        return status_response(RequestEntityTooLarge(f"Request entity too large: limit is {limit}"))
    except web.HTTPException:
        raise
    except Exception as exc:
        log.exception("internal error serving %s %s", request.method, request.path)
        return status_response(internal_error(f"{type(exc).__name__}: {exc}"))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in ANONYMOUS_PATHS:
        user = request.app[STATE].authenticator.authenticate(request.headers.get("Authorization"))
        if user is None:
            raise Unauthorized("Unauthorized")
        request[USER] = user
    return await handler(request)


async def serve_resource(request: web.Request, group: str, version: str, rest: str) -> \
        web.StreamResponse:
    st = request.app[STATE]
    forced_watch = rest.startswith("watch/")  # the deprecated /watch/ path prefix
    target = parse_target(group, version, rest.removeprefix("watch/"))
    method = request.method
    sub = target.subresource
    if sub == "log":
        return await nodeproxy.logs(request, st, target)
    if sub == "exec":
        return await nodeproxy.exec_(request, st, target)
    if sub == "binding" or target.resource.plural == "bindings":
        if method != "POST":
            raise _not_allowed(method)
        return await writes.bind(request, st, target, target.name)
    output = choose_output(request.headers.get("Accept"))
    if forced_watch and target.name is not None and sub is None and method == "GET":
        opts = list_options(request.query)
        by_name = f"metadata.name={target.name}"
        fields = f"{opts.field_selector},{by_name}" if opts.field_selector else by_name
        collection = Target(target.resource, target.namespace)
        return await watch(request, st, collection, output, replace(opts, field_selector=fields))
    if target.is_collection:
        opts = list_options(request.query)
        if method == "GET":
            if opts.watch or forced_watch:
                return await watch(request, st, target, output, opts)
            return await reads.list_(st, target, output, opts)
        if method == "POST" and (target.namespace or not target.resource.namespaced):
            return await writes.create(request, st, target, output)
        if method == "DELETE":
            return await deletes.delete_collection(request, st, target, opts)
        raise _not_allowed(method)
    if target.resource.namespaced and target.namespace is None:
        raise not_found_path(request.path)
    if method == "GET":
        return await reads.get(st, target, output, list_options(request.query))
    if method == "PUT":
        return await writes.update(request, st, _finalize_as_update(target), output)
    if method == "PATCH":
        return await writes.patch(request, st, target, output)
    if method == "DELETE" and sub is None:
        return await deletes.delete(request, st, target, output)
    raise _not_allowed(method)


def _finalize_as_update(target: Target) -> Target:
    """namespaces/{name}/finalize is an update of the whole object."""
    if target.subresource == "finalize":
        return Target(target.resource, target.namespace, target.name, None)
    return target


def _not_allowed(method: str) -> MethodNotAllowed:
    return MethodNotAllowed(
        f"the server does not allow this method on the requested resource ({method})")


async def core_handler(request: web.Request) -> web.StreamResponse:
    return await serve_resource(request, "", "v1", request.match_info["rest"])


async def group_handler(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    return await serve_resource(request, info["group"], info["version"], info["rest"])


async def version_handler(request: web.Request) -> web.StreamResponse:
    return json_response(discovery.version_info())


async def api_handler(request: web.Request) -> web.StreamResponse:
    return json_response(discovery.api_versions(request.app[STATE].server_address))


async def apis_handler(request: web.Request) -> web.StreamResponse:
    return json_response(discovery.api_group_list())


async def group_doc_handler(request: web.Request) -> web.StreamResponse:
    doc = discovery.api_group(request.match_info["group"])
    if doc is None:
        raise not_found_path(request.path)
    return json_response(doc)


async def resource_list_handler(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    gv = f"{info['group']}/{info['version']}" if "group" in info else "v1"
    doc = discovery.api_resource_list(gv)
    if doc is None:
        raise NotFound(f"the server could not find the requested resource (group version {gv})")
    return json_response(doc)


async def health_handler(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


async def ready_handler(request: web.Request) -> web.StreamResponse:
    """Ready when the datastore answers."""
    try:
        await asyncio.wait_for(request.app[STATE].store.current_revision(), 5)
    except (APIError, TimeoutError, OSError) as exc:
        return web.Response(status=503, text=f"datastore not ready: {exc}")
    return web.Response(text="ok")


async def _start_background(app: web.Application) -> None:
    st = app[STATE]
    st.spawn(deletes.run_reaper(st))


async def _begin_shutdown(app: web.Application) -> None:
    app[STATE].closing = True  # watches end at their next tick


async def _stop_background(app: web.Application) -> None:
    st = app[STATE]
    for task in list(st.background):
        task.cancel()
    if st.node_session is not None:
        await st.node_session.close()


def create_app(store: Store, authenticator: Authenticator, *, admission: Admission,
               node_client: NodeClient | None = None, max_body_bytes: int = 3 * 1024 * 1024,
               server_address: str = "127.0.0.1:6443") -> web.Application:
    """The API server as an aiohttp application (run it with any aiohttp runner).

    `admission` is this server's (`berth.server.admission`), built on `store`.
    """
    if admission.store is not store:
        raise ValueError("create_app: admission must be built on the server's store")
    state = ServerState(store=store, admission=admission, authenticator=authenticator,
                        node_client=node_client or NodeClient(),
                        max_body_bytes=max_body_bytes, server_address=server_address)
    app = web.Application(middlewares=[error_middleware, auth_middleware],
                          client_max_size=max_body_bytes + 1024)
    app[STATE] = state
    r = app.router
    r.add_get("/healthz", health_handler)
    r.add_get("/livez", health_handler)
    r.add_get("/readyz", ready_handler)
    r.add_get("/version", version_handler)
    r.add_get("/api", api_handler)
    r.add_get("/api/", api_handler)
    r.add_get("/api/v1", resource_list_handler)
    r.add_get("/api/v1/", resource_list_handler)
    r.add_get("/apis", apis_handler)
    r.add_get("/apis/", apis_handler)
    r.add_get("/apis/{group}", group_doc_handler)
    r.add_get("/apis/{group}/{version}", resource_list_handler)
    r.add_get("/apis/{group}/{version}/", resource_list_handler)
    openapi.add_routes(app)
    r.add_route("*", "/api/v1/{rest:.+}", core_handler)
    r.add_route("*", "/apis/{group}/{version}/{rest:.+}", group_handler)
    app.on_startup.append(_start_background)
    app.on_shutdown.append(_begin_shutdown)
    app.on_cleanup.append(_stop_background)
    return app
