"""The async HTTP client of the Kubernetes REST API, over one aiohttp session.

``Client`` turns a verb on a ``Resource`` into a URL (``resource_path``, pure)
and a request; a non-2xx answer carrying a ``Status`` becomes the matching
``berth.api.errors`` exception through ``error_from_status``, so callers catch
``NotFound``/``Conflict``/``Invalid`` exactly as the server raised them. A
socket-level failure becomes ``ConnectionFailed``. ``watch`` yields the watch
stream's events (``{"type": ..., "object": ...}``) one JSON line at a time.
"""

from __future__ import annotations

import json
import ssl
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from berth.api.errors import APIError, error_from_status
from berth.api.resources import Resource
from berth.client.errors import ConnectionFailed
from berth.client.kubeconfig import ClusterConfig

Obj = dict[str, Any]
PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}


def resource_path(resource: Resource, namespace: str | None = None, name: str | None = None,
                  subresource: str | None = None) -> str:
    """``/api/v1/namespaces/ns/pods/name`` or ``/apis/apps/v1/daemonsets`` (all namespaces)."""
    base = f"/apis/{resource.group}/{resource.version}" if resource.group else "/api/v1"
    if resource.namespaced and namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{resource.plural}"
    if name is not None:
        base += f"/{quote(name, safe='')}"
        if subresource:
            base += f"/{subresource}"
    return base


def ssl_context(config: ClusterConfig) -> ssl.SSLContext | bool:
    """The TLS settings of ``config``: its CA, client certificate, or no verification."""
    if not config.server.startswith("https://"):
        return False
    if config.insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif config.ca_pem:
        ctx = ssl.create_default_context(cadata=config.ca_pem.decode())
    else:
        ctx = ssl.create_default_context()
    if config.client_cert_pem and config.client_key_pem:
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
            cert.write_bytes(config.client_cert_pem)
            key.touch(mode=0o600)
            key.write_bytes(config.client_key_pem)
            ctx.load_cert_chain(cert, key)
    return ctx


def _error(status_code: int, body: bytes) -> APIError:
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return error_from_status(doc)
    text = body.decode(errors="replace").strip() or f"status code {status_code}"
    return error_from_status({"code": status_code, "message": text})


class Client:
    """One API server, one identity; use as ``async with Client(config) as c``."""

    def __init__(self, config: ClusterConfig, *, timeout: float = 30.0) -> None:
        self.config = config
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            headers = {"Accept": "application/json", "User-Agent": "berth"}
            if self.config.token:
                headers["Authorization"] = f"Bearer {self.config.token}"
            self._session = aiohttp.ClientSession(
                headers=headers,
                connector=aiohttp.TCPConnector(ssl=ssl_context(self.config)),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      timeout: float | None = None) -> Obj:
        """Send one request and return the decoded JSON body, or raise the server's error."""
        url = self.config.server + path
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else {}
        limit = aiohttp.ClientTimeout(total=timeout or self._timeout)
        try:
            async with self._get_session().request(
                method, url, params=params, data=data, headers=headers, timeout=limit
            ) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise _error(resp.status, raw)
        except aiohttp.ClientConnectorError as exc:
            raise ConnectionFailed(self.config.server, str(exc.os_error or exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConnectionFailed(self.config.server, str(exc) or type(exc).__name__) from exc
        try:
            decoded = json.loads(raw) if raw else {}
        except ValueError:
            raise ConnectionFailed(self.config.server, "the answer is not JSON") from None
        return decoded if isinstance(decoded, dict) else {"value": decoded}

    async def get(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        return await self.request("GET", resource_path(resource, namespace, name))

    async def list(self, resource: Resource, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   limit: int = 0, continue_token: str | None = None) -> Obj:
        """A ``<Kind>List``; ``namespace=None`` lists all namespaces."""
        params = _selectors(label_selector, field_selector)
        if limit:
            params["limit"] = str(limit)
        if continue_token:
            params["continue"] = continue_token
        return await self.request("GET", resource_path(resource, namespace), params=params)

    async def create(self, resource: Resource, obj: Obj, namespace: str | None = None) -> Obj:
        ns = namespace or obj.get("metadata", {}).get("namespace")
        return await self.request("POST", resource_path(resource, ns), body=obj)

    async def update(self, resource: Resource, obj: Obj, subresource: str | None = None) -> Obj:
        meta = obj.get("metadata", {})
        path = resource_path(resource, meta.get("namespace"), meta.get("name", ""), subresource)
        return await self.request("PUT", path, body=obj)

    async def patch(self, resource: Resource, namespace: str | None, name: str, patch: Any, *,
                    patch_type: str = "strategic", subresource: str | None = None) -> Obj:
        path = resource_path(resource, namespace, name, subresource)
        return await self.request("PATCH", path, body=patch,
                                  content_type=PATCH_TYPES[patch_type])

    async def delete(self, resource: Resource, namespace: str | None, name: str, *,
                     grace_period: int | None = None,
                     propagation: str | None = None) -> Obj:
        """Delete one object; returns what the server answers (the object or a Status)."""
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if propagation:
            options["propagationPolicy"] = propagation
        return await self.request("DELETE", resource_path(resource, namespace, name),
                                  body=options)

    async def watch(self, resource: Resource, namespace: str | None = None, *,
                    resource_version: str | None = None, label_selector: str | None = None,
                    field_selector: str | None = None,
                    timeout_seconds: int | None = None) -> AsyncIterator[Obj]:
        """Yield watch events until the server ends the stream; ERROR events raise."""
        params = _selectors(label_selector, field_selector)
        params["watch"] = "1"
        if resource_version:
            params["resourceVersion"] = resource_version
        if timeout_seconds:
            params["timeoutSeconds"] = str(timeout_seconds)
        url = self.config.server + resource_path(resource, namespace)
        no_limit = aiohttp.ClientTimeout(total=None, sock_read=None)
        try:
            async with self._get_session().get(url, params=params, timeout=no_limit) as resp:
                if resp.status >= 400:
                    raise _error(resp.status, await resp.read())
                async for line in resp.content:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        raise error_from_status(event.get("object") or {})
                    yield event
        except aiohttp.ClientConnectorError as exc:
            raise ConnectionFailed(self.config.server, str(exc.os_error or exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:  # dropped mid-stream, disconnected
            raise ConnectionFailed(self.config.server, str(exc) or type(exc).__name__) from exc


def _selectors(label_selector: str | None, field_selector: str | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params
