"""The ``berth`` command: parse the verb, run its module, turn failures into one line.

``COMMANDS`` maps each verb to the module implementing it (one module per verb
group; each has ``add_arguments(parser)`` and ``main(args) -> int``). Command
modules import their heavy dependencies (aiohttp, yaml, the server) only when
they run, so ``berth --help`` starts fast. ``main`` is the console-script entry
point: every expected failure is printed as kubectl would print it (see
``berth.cli.output.describe_error``) with exit code 1, never as a traceback;
set ``BERTH_DEBUG=1`` to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

#: verb -> (module under berth.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "server": ("server", "run the API server, datastore, scheduler and controllers"),
    "apply": ("apply", "create or update objects from manifests (-f FILE|DIR|-)"),
    "get": ("get", "list objects as tables, or print them as JSON/YAML"),
    "describe": ("describe", "show an object in detail, with its events"),
    "expose": ("expose", "make a Service for a pod, service or workload (like kubectl expose)"),
    "delete": ("delete", "delete objects by name or manifest, and wait until gone"),
    "demo": ("demo", "tell the seed's story on live components, step by step"),
    "node": ("node", "run the node agent (kubelet role): pods on runc with CNI networking"),
    "image": ("image", "manage the local image store (import, ls, rm)"),
    "logs": ("logs", "print the logs of a pod's container"),
    "exec": ("exec", "run a command in a pod's container"),
    "up": ("up", "bring up a multi-node cluster on this machine (node namespaces)"),
    "down": ("down", "remove the cluster `berth up` made, leaving no trace"),
    "status": ("status", "show what `berth up` made and whether it is running"),
    "graph": ("graph", "draw the live cluster network (Graphviz: -o FILE.svg|.png)"),
    "init": ("init", "make this machine a cluster's control plane and first node"),
    "join": ("join", "make this machine a node of a cluster (bootstrap token)"),
    "cni": ("cni", "CNI plugins: install them into a bin dir, serve their fast path"),
}


def build_parser() -> argparse.ArgumentParser:
    from berth import __version__

    parser = argparse.ArgumentParser(
        prog="berth",
        description="Kubernetes-style Pods and pod networking, for real, on Linux.",
    )
    parser.add_argument("--version", action="version", version=f"berth {__version__}")
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for verb, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"berth.cli.{module_name}")
        sub = verbs.add_parser(verb, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.main)
    return parser


def _expected(exc: BaseException) -> bool:
    """Failures with a message meant for the user (API, client, CLI, server start-up)."""
    from berth.api.errors import APIError
    from berth.cli.errors import CliError

    bases: list[type[BaseException]] = [APIError, CliError]
    for module, name in (("berth.client.errors", "ClientError"),
                         ("berth.server.errors", "ServerError")):
        if module in sys.modules:
            bases.append(getattr(sys.modules[module], name))
    return isinstance(exc, tuple(bases))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 1
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `berth get pods | head -1`: stop quietly, like kubectl
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        from berth.cli.output import describe_error

        if _expected(exc):
            print(describe_error(exc), file=sys.stderr)
            return 1
        if os.environ.get("BERTH_DEBUG"):
            traceback.print_exc()
        else:
            print(f"error: unexpected {type(exc).__name__}: {exc} "
                  "(set BERTH_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
