"""The server process, assembled: what ``berth server`` runs, from a ``ServerProcessConfig``.

``start_server_process`` starts, in this order and on one asyncio loop:

1. the API server (``berth.server.start_server``: PKI, tokens, datastore,
   admission, the built-in namespaces, TLS on ``server.host:port``);
2. the enabled controllers (``berth.controllers``: scheduler, node IPAM,
   DaemonSets, EndpointSlices), which reach the API over loopback HTTPS like
   kube-controller-manager, with the cluster's address plan, and the built-in
   Services;
3. with ``also_listen``, a second listener of the same application on that
   address (the host link's 198.18.0.1 in a one-machine cluster, the
   ``--advertise-address`` after ``berth init``), which is also put in the
   serving certificate, so node agents reach the server over the underlay as
   they would reach a remote control plane;
4. with ``join_port``, the join service of ``berth.server.bootstrap`` on that
   port of the same addresses, handing node identities to holders of a
   bootstrap token (added through the server's own authenticator) together
   with the cluster's address plan as ``DATA_DIR/network.json`` holds it.

Nothing listens on any other address.  ``ServerProcess.stop`` undoes it in
reverse: join service, controllers (their loops first), the API and its store.
``run_server_process`` serves until cancelled (SIGTERM in ``berth server``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from berth.controllers import ALL_CONTROLLERS, ControllerManager, start_for_server
from berth.server import ServerConfig, bootstrap, start_server
from berth.server.auth import UserInfo, add_identity
from berth.server.errors import ConfigError
from berth.server.pki import PKIPaths
from berth.server.run import KUBELET_CLIENT_TOKEN_FILE, TOKEN_FILE, RunningServer, tls_context
from berth.server.state import STATE
from berth.store import Store


@dataclass(frozen=True)
class ServerProcessConfig:
    """Everything one server process runs with; ``validate`` names the flag of a bad value."""

    server: ServerConfig
    # which control loops run in this process: `berth server` passes ALL_CONTROLLERS; the
    # default () is a bare API server (tests; Service IP allocation works without them)
    controllers: tuple[str, ...] = ()
    also_listen: str = ""  # a second address for the API (and the join service)
    join_port: int = 0  # the join service's port (0: none)

    def validate(self) -> None:
        self.server.validate()
        unknown = set(self.controllers) - set(ALL_CONTROLLERS)
        if unknown:
            raise ConfigError(f"controllers: unknown {sorted(unknown)}; known: "
                              f"{', '.join(ALL_CONTROLLERS)}")
        if not 0 <= self.join_port <= 65535:
            raise ConfigError(f"--join-port: {self.join_port} is not a TCP port")
        network = self.server.data_dir / bootstrap.NETWORK_FILE
        if self.join_port and not network.is_file():
            raise ConfigError(f"--join-port: the join service hands out the cluster's "
                              f"address plan, and {network} does not exist (berth up and "
                              "berth init write it)")


@dataclass
class ServerProcess:
    """A started server process: the API's handle, its controllers and join service."""

    api: RunningServer
    controllers: ControllerManager | None = None
    join: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return self.api.url

    @property
    def port(self) -> int:
        return self.api.port

    @property
    def pki(self) -> PKIPaths:
        return self.api.pki

    @property
    def admin_token(self) -> str:
        return self.api.admin_token

    @property
    def store(self) -> Store:
        return self.api.store

    async def stop(self) -> None:
        try:
            if self.join is not None:
                await self.join.cleanup()
            if self.controllers is not None:
                await self.controllers.stop()
        finally:
            await self.api.stop()


def _join_app(running: RunningServer, data_dir: Path) -> web.Application:
    doc = json.loads((data_dir / bootstrap.NETWORK_FILE).read_text())
    auth = running.runner.app[STATE].authenticator

    def issue(node: str) -> str:
        user = UserInfo(f"system:node:{node}", str(uuid.uuid4()), bootstrap.NODE_GROUPS)
        return add_identity(data_dir / TOKEN_FILE, auth, user)

    kubelet_token = (data_dir / "pki" / KUBELET_CLIENT_TOKEN_FILE).read_text().strip()
    return bootstrap.join_app(data_dir, running.pki.ca_cert.read_bytes(), doc, issue,
                              kubelet_token)


async def start_server_process(cfg: ServerProcessConfig) -> ServerProcess:
    """Start everything the config asks for (see the module docstring)."""
    cfg.validate()
    config = cfg.server
    if cfg.also_listen and cfg.also_listen not in config.sans:
        config = dataclasses.replace(config, sans=(*config.sans, cfg.also_listen))
    process = ServerProcess(await start_server(config))
    try:
        api = process.api
        if cfg.controllers:
            process.controllers = await start_for_server(
                api.url, api.admin_token, await asyncio.to_thread(api.pki.ca_cert.read_bytes),
                config.address_plan(), enabled=cfg.controllers)
        tls = tls_context(api.pki)
        if cfg.also_listen:
            await web.TCPSite(api.runner, cfg.also_listen, api.port, ssl_context=tls,
                              backlog=1024).start()
        if cfg.join_port:
            app = await asyncio.to_thread(_join_app, api, config.data_dir)
            process.join = web.AppRunner(app, access_log=None)
            await process.join.setup()
            for host in [config.host, *([cfg.also_listen] if cfg.also_listen else [])]:
                await web.TCPSite(process.join, host, cfg.join_port, ssl_context=tls).start()
    except BaseException:
        await process.stop()
        raise
    return process


async def run_server_process(cfg: ServerProcessConfig) -> None:
    """Serve until cancelled."""
    process = await start_server_process(cfg)
    try:
        await asyncio.Event().wait()
    finally:
        await process.stop()
