"""``berth init``: make this machine the control plane and first node of a cluster.

Flags become ``berth.cluster.initjoin.InitOptions`` (the network flags are
``berth up``'s); on success it prints the ``berth join`` command, with the
bootstrap token and the CA pin, to run on the other machines.
"""

from __future__ import annotations

import argparse

from berth.cli.errors import CliError, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from berth.cli.up import add_network_arguments

    add_network_arguments(parser)
    parser.add_argument("--advertise-address", required=True,
                        help="this machine's address that the other machines reach")
    parser.add_argument("--node-name", default="", help="this node's name (default hostname)")
    parser.add_argument("--port", type=int, default=6443,
                        help="API server port (the join service uses PORT + 1)")
    parser.add_argument("--timeout", type=float, default=180.0)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from berth.cli.up import home_dir
    from berth.cluster.errors import ClusterError
    from berth.cluster.initjoin import InitOptions, bring_init
    from berth.netagent.errors import NetAgentError

    console = Console(stderr=True)
    opts = InitOptions(advertise_address=args.advertise_address, pod_cidr=args.pod_network_cidr,
                       service_cidr=args.service_cidr, node_mask=args.node_cidr_mask_size,
                       backend=args.backend, underlay_mtu=args.underlay_mtu,
                       datastore=args.datastore, port=args.port, node_name=args.node_name,
                       timeout=args.timeout)
    try:
        result = bring_init(opts, home_dir(),
                            lambda line: console.print(f"[green]✓[/green] {line}"))
    except (NetAgentError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"control plane up; kubeconfig {result.state.kubeconfig}")
    console.print("on every other machine, as root:")
    print(result.join_command)
    return 0
