"""Starting and stopping the API server: `start_server`.

`start_server` does everything a first start needs and a restart reuses: the PKI
(CA + serving certificate under data_dir/pki), the token file with the admin
identity, the kubelet-client token, the datastore and its admission (Service IP and
NodePort claims repaired, `berth.server.admission`), the built-in namespaces
(default, kube-system, kube-public, kube-node-lease), the aiohttp app on TLS, and
the admin kubeconfig (data_dir/admin.kubeconfig and the configured path). It
returns a `RunningServer` handle whose `stop` closes everything.  The whole
server process (with the controllers and the join service) is assembled by
`berth.daemon.server`.
"""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from berth.api.errors import AlreadyExists
from berth.server.admission import Admission
from berth.server.app import create_app
from berth.server.auth import ADMIN_USER, ensure_secret_file, ensure_tokens
from berth.server.config import ServerConfig
from berth.server.errors import ConfigError
from berth.server.kubeconfig import render_kubeconfig, write_kubeconfig
from berth.server.pki import PKIPaths, ensure_pki
from berth.server.state import BUILTIN_NAMESPACES, NodeClient, utcnow
from berth.store import Store, StoreConfigError, open_store

TOKEN_FILE = "tokens.csv"
KUBELET_CLIENT_TOKEN_FILE = "kubelet-client.token"
ADMIN_KUBECONFIG = "admin.kubeconfig"
SHUTDOWN_SECONDS = 5.0


@dataclass
class RunningServer:
    """A started server: where it listens and how to stop it."""

    url: str
    port: int
    pki: PKIPaths
    admin_token: str
    kubeconfig: Path
    store: Store
    runner: web.AppRunner

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.store.close()


async def ensure_builtin_namespaces(store: Store) -> None:
    """Create the namespaces every cluster starts with (kept if they exist)."""
    import uuid

    now = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in BUILTIN_NAMESPACES:
        obj = {"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": now,
                            "labels": {"kubernetes.io/metadata.name": name}},
               "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        with contextlib.suppress(AlreadyExists):
            await store.create("namespaces", obj)


def serving_sans(config: ServerConfig) -> tuple[str, ...]:
    extra = list(config.advertise_addresses) + list(config.sans)
    if config.host not in ("", "0.0.0.0", "::"):
        extra.append(config.host)
    return tuple(extra)


def tls_context(pki: PKIPaths) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    return ctx


def client_host(config: ServerConfig) -> str:
    """The address a local client should dial."""
    if config.host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if config.host == "::":
        return "[::1]"
    return f"[{config.host}]" if ":" in config.host else config.host


async def start_server(config: ServerConfig) -> RunningServer:
    config.validate()
    data_dir = Path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    pki = ensure_pki(data_dir / "pki", serving_sans(config))
    auth = ensure_tokens(data_dir / TOKEN_FILE)
    kubelet_token = ensure_secret_file(data_dir / "pki" / KUBELET_CLIENT_TOKEN_FILE)
    try:
        store = await open_store(config.datastore, data_dir)
    except StoreConfigError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        await ensure_builtin_namespaces(store)
        plan = config.address_plan()
        admission = Admission(store, plan.service_cidr, plan.node_port_range)
        await admission.repair()  # before serving: claims match the stored Services
        app = create_app(store, auth, admission=admission,
                         node_client=NodeClient(token=kubelet_token),
                         max_body_bytes=config.max_body_bytes,
                         server_address=f"{client_host(config)}:{config.port}")
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        site = web.TCPSite(runner, config.host or None, config.port,
                           ssl_context=tls_context(pki), backlog=1024)
        await site.start()
    except BaseException:
        await store.close()
        raise
    port = config.port
    server = getattr(site, "_server", None)
    if port == 0 and server is not None and server.sockets:
        port = server.sockets[0].getsockname()[1]
    url = f"https://{client_host(config)}:{port}"
    token = auth.token_for(ADMIN_USER) or ""
    kubeconfig = render_kubeconfig(url, pki.ca_cert.read_bytes(), token)
    admin_path = data_dir / ADMIN_KUBECONFIG
    write_kubeconfig(admin_path, kubeconfig)
    if config.kubeconfig_path is not None:
        write_kubeconfig(Path(config.kubeconfig_path), kubeconfig)
    running = RunningServer(url, port, pki, token, admin_path, store, runner)
    return running
