"""``berth server``: run the API server (with its datastore, scheduler, controllers).

This module only turns flags into ``berth.server.ServerConfig`` and hands it
to ``run_server`` (stopped by Ctrl-C or SIGTERM); a bad value (``--listen``, ``--datastore``) is reported as
one line naming the flag.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from berth.cli.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help="state directory (default: $BERTH_HOME/server)")
    parser.add_argument("--listen", default="127.0.0.1:6443", metavar="HOST:PORT",
                        help="address to serve HTTPS on (default 127.0.0.1:6443)")
    parser.add_argument("--datastore", default="sqlite", metavar="sqlite|etcd://HOST:PORT[,...]",
                        help="where objects live (default: embedded SQLite)")
    parser.add_argument("--kubeconfig", default=None,
                        help="where to write the admin kubeconfig (default: $BERTH_HOME/kubeconfig)")
    parser.add_argument("--pod-network-cidr", default="10.244.0.0/16", metavar="CIDR",
                        help="the cluster CIDR split into node subnets (default 10.244.0.0/16)")
    parser.add_argument("--service-cidr", default="10.96.0.0/12", metavar="CIDR",
                        help="where Service ClusterIPs come from (default 10.96.0.0/12)")
    parser.add_argument("--node-cidr-mask-size", type=int, default=24, metavar="BITS",
                        help="prefix length of each node's pod subnet (default 24)")
    parser.add_argument("--service-node-port-range", default="30000-32767", metavar="LOW-HIGH",
                        help="NodePort range (default 30000-32767)")
    parser.add_argument("--controllers", default="*", metavar="NAMES",
                        help="control loops to run: '*' (all), '' (none) or a comma list")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:6443`` for IPv6) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen: {text!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _port_range(text: str) -> tuple[int, int]:
    from berth.controllers.config import parse_port_range
    from berth.controllers.errors import ControllerConfigError

    try:
        return parse_port_range(text)
    except ControllerConfigError as exc:
        raise UsageError(str(exc)) from exc


def main(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import errno
    import signal

    from berth.client.kubeconfig import berth_home
    from berth.controllers import ALL_CONTROLLERS
    from berth.server import ServerConfig, run_server

    home = berth_home(os.environ)
    host, port = parse_listen(args.listen)
    config = ServerConfig(
        data_dir=Path(args.data_dir) if args.data_dir else home / "server",
        host=host,
        port=port,
        datastore=args.datastore,
        kubeconfig_path=Path(args.kubeconfig) if args.kubeconfig else home / "kubeconfig",
        cluster_cidr=args.pod_network_cidr,
        service_cidr=args.service_cidr,
        node_cidr_mask=args.node_cidr_mask_size,
        node_port_range=_port_range(args.service_node_port_range),
        controllers=(tuple(ALL_CONTROLLERS) if args.controllers == "*"
                     else tuple(c for c in args.controllers.split(",") if c)),
    )
    async def serve() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run_server(config)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise UsageError(f"--listen: cannot listen on {args.listen}: "
                             f"{os.strerror(exc.errno)}") from exc
        raise
    return 0
