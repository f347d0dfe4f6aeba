"""Fixtures for the API server tests: a real server (TLS, tokens, SQLite) on loopback.

`live_server` runs `berth.server.start_server` in a thread with its own event loop,
on a free 127.0.0.1 port and a temporary data directory, so sync clients (kubectl,
the official Python client) and async ones (aiohttp) all talk to it over HTTPS.
`api` is an aiohttp session with the admin token and the cluster CA.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from berth.server import ServerConfig, start_server
from berth.server.run import RunningServer


@dataclass
class LiveServer:
    url: str
    token: str
    ca_file: Path
    kubeconfig: Path
    data_dir: Path
    running: RunningServer
    loop: asyncio.AbstractEventLoop

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _serve(data_dir: Path) -> Iterator[LiveServer]:
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            started["server"] = loop.run_until_complete(
                start_server(ServerConfig(data_dir=data_dir, port=0)))
        except BaseException as exc:
            started["error"] = exc
        ready.set()
        if "server" in started:
            loop.run_forever()

    thread = threading.Thread(target=main, name="berth-test-server", daemon=True)
    thread.start()
    ready.wait(60)
    if "error" in started:
        raise started["error"]
    running: RunningServer = started["server"]
    try:
        yield LiveServer(running.url, running.admin_token, running.pki.ca_cert,
                         running.kubeconfig, data_dir, running, loop)
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from _serve(tmp_path_factory.mktemp("berth-server"))


@pytest.fixture
async def api(live_server: LiveServer) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=live_server.ssl_context())
    async with aiohttp.ClientSession(live_server.url, connector=connector,
                                     headers=live_server.headers()) as session:
        yield session


def pod_manifest(name: str, image: str = "busybox", **extra: Any) -> dict[str, Any]:
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": name, "labels": {"app": "demo"}},
                           "spec": {"containers": [{"name": "main", "image": image}]}}
    pod["spec"].update(extra)
    return pod


@pytest.fixture
def make_pod() -> Any:
    """A function building a one-container Pod manifest."""
    return pod_manifest
