"""``berth server``: run the API server (with its datastore, scheduler, controllers).

This module only turns flags into a ``berth.daemon.server.ServerProcessConfig``
and hands it to ``run_server_process`` (stopped by Ctrl-C or SIGTERM); a bad
value (``--listen``, ``--datastore``, a CIDR) is reported as one line naming
the flag.  ``--also-listen`` and ``--join-port`` are what ``berth up`` and
``berth init`` start their server with: a second address on the nodes'
network, and the join service for ``berth join``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from berth.api import addressplan as plan
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
    parser.add_argument("--pod-network-cidr", default=plan.DEFAULT_CLUSTER_CIDR, metavar="CIDR",
                        help="the cluster CIDR split into node subnets (default "
                        f"{plan.DEFAULT_CLUSTER_CIDR})")
    parser.add_argument("--service-cidr", default=plan.DEFAULT_SERVICE_CIDR, metavar="CIDR",
                        help="where Service ClusterIPs come from (default "
                        f"{plan.DEFAULT_SERVICE_CIDR})")
    parser.add_argument("--node-cidr-mask-size", type=int, default=plan.DEFAULT_NODE_MASK,
                        metavar="BITS", help="prefix length of each node's pod subnet "
                        f"(default {plan.DEFAULT_NODE_MASK})")
    low, high = plan.DEFAULT_NODE_PORT_RANGE
    ports = f"{low}-{high}"
    parser.add_argument("--service-node-port-range", default=ports, metavar="LOW-HIGH",
                        help=f"NodePort range (default {ports})")
    parser.add_argument("--controllers", default="*", metavar="NAMES",
                        help="control loops to run: '*' (all), '' (none) or a comma list")
    parser.add_argument("--also-listen", default="", metavar="ADDRESS",
                        help="serve the API (and the join service) on this address too, on "
                        "the same port; it is added to the serving certificate")
    parser.add_argument("--join-port", type=int, default=0, metavar="PORT",
                        help="serve the join service for `berth join` on this port "
                        "(needs DATA_DIR/network.json, written by berth up/init; 0: off)")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:6443`` for IPv6) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen: {text!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _port_range(text: str) -> tuple[int, int]:
    try:
        return plan.parse_port_range(text)
    except plan.AddressPlanError as exc:
        raise UsageError(str(exc)) from exc


def main(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import errno
    import signal

    from berth.client.kubeconfig import berth_home
    from berth.controllers import ALL_CONTROLLERS
    from berth.daemon.server import ServerProcessConfig, run_server_process
    from berth.server import ServerConfig

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
    )
    process = ServerProcessConfig(
        config, controllers=(tuple(ALL_CONTROLLERS) if args.controllers == "*"
                             else tuple(c for c in args.controllers.split(",") if c)),
        also_listen=args.also_listen, join_port=args.join_port)

    async def serve() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run_server_process(process)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise UsageError(f"--listen: cannot listen on {args.listen}: "
                             f"{os.strerror(exc.errno)}") from exc
        raise
    return 0
