"""``berth cni``: berth's CNI plugins outside the node agent.

``berth cni install DIR`` writes berth's plugins into a CNI bin dir (see
``berth.cni.install``) so containerd, podman or any runtime can exec them;
``berth cni serve [--socket PATH]`` runs the fast-path server the plugins talk
to (``berth.cni.server``) on hosts without a berth node agent, until
interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="cni_command", metavar="SUBCOMMAND", required=True)
    inst = sub.add_parser("install", help="put berth's plugins into a CNI bin dir")
    inst.add_argument("dir", help="the CNI bin dir (e.g. /opt/cni/bin)")
    inst.add_argument("--mode", choices=("auto", "native", "wrapper", "symlink"),
                      default="auto", help="native: a compiled ~1 ms client (auto picks it when "
                      "cc exists); wrapper: python -IS scripts; symlink: the console scripts")
    serve = sub.add_parser("serve", help="run the plugins' fast-path server")
    from berth.cni.fastpath import DEFAULT_SOCKET

    serve.add_argument("--socket", default=DEFAULT_SOCKET,
                       help=f"unix socket to listen on (default {DEFAULT_SOCKET})")


def main(args: argparse.Namespace) -> int:
    from berth.cli.errors import CliError
    from berth.cni.errors import CNIError

    try:
        if args.cni_command == "install":
            return _install(args)
        return _serve(args)
    except CNIError as exc:
        raise CliError(str(exc)) from exc


def _install(args: argparse.Namespace) -> int:
    from berth.cni.install import install

    for path in install(args.dir, args.mode):
        print(path)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from berth.cni.server import FastPathServer

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FastPathServer(args.socket):
        print(f"berth cni: serving on {args.socket}", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0
