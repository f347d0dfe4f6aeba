"""The API server process of a cluster: the API on loopback and the nodes' network, plus join.

``python -m berth.cluster.serve`` runs ``berth.server.start_server`` on
127.0.0.1 with the ``--also-listen`` address (the host link's 198.18.0.1 in a
one-machine cluster, the ``--advertise-address`` after ``berth init``) added
to the serving certificate, and opens a second listener of the same
application there, so node agents reach the server over the underlay as they
would reach a remote control plane.  Beside it, on ``--join-port`` of the
same addresses, it serves the join service of ``berth.cluster.bootstrap``,
which hands node identities to holders of a bootstrap token: the identity
is added through the server's own ``add_identity`` (token file + live
authenticator).  Nothing listens on any other address.  SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from berth.cluster import bootstrap
from berth.controllers import ALL_CONTROLLERS
from berth.server import ServerConfig, start_server
from berth.server.auth import UserInfo, add_identity
from berth.server.run import KUBELET_CLIENT_TOKEN_FILE, TOKEN_FILE, RunningServer, tls_context
from berth.server.state import STATE


def _join_service(running: RunningServer, data_dir: Path) -> web.Application:
    doc = json.loads((data_dir / bootstrap.NETWORK_FILE).read_text())
    auth = running.runner.app[STATE].authenticator

    def issue(node: str) -> str:
        user = UserInfo(f"system:node:{node}", str(uuid.uuid4()), bootstrap.NODE_GROUPS)
        return add_identity(data_dir / TOKEN_FILE, auth, user)

    kubelet_token = (data_dir / "pki" / KUBELET_CLIENT_TOKEN_FILE).read_text().strip()
    return bootstrap.join_app(data_dir, running.pki.ca_cert.read_bytes(), doc, issue,
                              kubelet_token)


async def serve(data_dir: Path, port: int, also_listen: str, join_port: int, kubeconfig: Path,
                datastore: str) -> None:
    doc = json.loads((data_dir / bootstrap.NETWORK_FILE).read_text())
    config = ServerConfig(data_dir=data_dir, host="127.0.0.1", port=port, datastore=datastore,
                          sans=(also_listen,) if also_listen else (),
                          kubeconfig_path=kubeconfig,
                          cluster_cidr=str(doc["podCIDR"]), service_cidr=str(doc["serviceCIDR"]),
                          node_cidr_mask=int(doc["nodeMask"]),
                          controllers=tuple(ALL_CONTROLLERS))
    running = await start_server(config)
    join_runner: web.AppRunner | None = None
    try:
        tls = tls_context(running.pki)
        hosts = ["127.0.0.1", *([also_listen] if also_listen else [])]
        if also_listen:
            await web.TCPSite(running.runner, also_listen, running.port, ssl_context=tls,
                              backlog=1024).start()
        if join_port:
            join_runner = web.AppRunner(_join_service(running, data_dir), access_log=None)
            await join_runner.setup()
            for host in hosts:
                await web.TCPSite(join_runner, host, join_port, ssl_context=tls).start()
        await asyncio.Event().wait()
    finally:
        if join_runner is not None:
            await join_runner.cleanup()
        await running.stop()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m berth.cluster.serve")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--port", type=int, default=6443)
    p.add_argument("--also-listen", default="", help="a second address for API and join")
    p.add_argument("--join-port", type=int, default=0, help="join service port (0: none)")
    p.add_argument("--kubeconfig", type=Path, required=True)
    p.add_argument("--datastore", default="sqlite")
    args = p.parse_args(argv)

    async def run() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(args.data_dir, args.port, args.also_listen, args.join_port,
                        args.kubeconfig, args.datastore)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
