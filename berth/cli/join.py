"""``berth join SERVER --token TOKEN``: make this machine a node of a cluster.

The token is the bootstrap token ``berth init`` printed; ``--ca-cert-hash``
pins the cluster CA before the token is sent (skipping the pin must be asked
for explicitly).  A refused token is one line and nothing is made.
"""

from __future__ import annotations

import argparse

from berth.cli.errors import CliError, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", metavar="SERVER", help="the API server, https://HOST:PORT")
    parser.add_argument("--token", required=True, help="bootstrap token from `berth init`")
    parser.add_argument("--ca-cert-hash", default=None,
                        help="sha256:HEX pin of the cluster CA (printed by `berth init`)")
    parser.add_argument("--unsafe-skip-ca-verification", action="store_true",
                        help="join without --ca-cert-hash (trusts whoever answers)")
    parser.add_argument("--node-name", default="", help="this node's name (default hostname)")
    parser.add_argument("--advertise-address", default="",
                        help="this machine's address (default: the one towards SERVER)")
    parser.add_argument("--timeout", type=float, default=180.0)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from berth.cli.up import home_dir
    from berth.cluster.errors import ClusterError
    from berth.cluster.initjoin import bring_join

    if args.ca_cert_hash is None and not args.unsafe_skip_ca_verification:
        raise UsageError("--ca-cert-hash: required (or --unsafe-skip-ca-verification)")
    console = Console(stderr=True)
    try:
        state = bring_join(args.server, args.token, args.ca_cert_hash, home_dir(),
                           lambda line: console.print(f"[green]✓[/green] {line}"),
                           node_name=args.node_name, advertise_address=args.advertise_address,
                           timeout=args.timeout)
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"node {state.nodes[0].name} joined {args.server}")
    return 0
