"""``berth up``: a multi-node cluster on this machine (see ``berth.cluster.up``).

Flags become ``UpOptions``; progress is shown as one line per step (rich);
the command returns when every node is Ready with its network configured,
and prints where the kubeconfig is.  Bad input and a cluster that is already
up are one-line errors, and nothing is made.  ``--add-node`` joins one more
node to the running cluster instead (``berth down --node NAME`` removes one).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from berth.api import addressplan as plan
from berth.cli.errors import CliError, UsageError

if TYPE_CHECKING:
    from rich.console import Console


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
    parser.add_argument("--add-node", action="store_true",
                        help="add one node to the running cluster (remove one with "
                        "`berth down --node NAME`)")
    parser.add_argument("--restart-node", metavar="NAME", default="",
                        help="start node NAME's process again after it died (its pods "
                        "keep running and are adopted)")
    add_network_arguments(parser)
    parser.add_argument("--etcd-members", type=int, default=1,
                        help="with --datastore etcd: members berth starts on 127.0.0.1 "
                        "(3 survives losing one)")
    parser.add_argument("--port", type=int, default=6443, help="API server port on 127.0.0.1")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to wait for the nodes to be Ready")
    parser.add_argument("--name", default="", help="cluster name, at most 8 characters: "
                        "prefixes node names and namespaces (default: none)")


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", default=plan.DEFAULT_BACKEND, choices=plan.BACKENDS,
                        help="how pods on different nodes reach each other (default "
                        f"{plan.DEFAULT_BACKEND})")
    parser.add_argument("--pod-network-cidr", default=plan.DEFAULT_CLUSTER_CIDR)
    parser.add_argument("--service-cidr", default=plan.DEFAULT_SERVICE_CIDR)
    parser.add_argument("--node-cidr-mask-size", type=int, default=plan.DEFAULT_NODE_MASK,
                        help=f"mask of each node's pod subnet (default {plan.DEFAULT_NODE_MASK})")
    add_underlay_argument(parser)
    parser.add_argument("--underlay-mtu", type=int, default=plan.DEFAULT_UNDERLAY_MTU)
    parser.add_argument("--datastore", default="sqlite",
                        metavar="sqlite|etcd|etcd://HOST:PORT[,...]",
                        help="etcd: berth up starts etcd on 127.0.0.1 (see --etcd-members)")


def add_underlay_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--underlay", default=plan.DEFAULT_UNDERLAY,
                        help=f"the nodes' network (default {plan.DEFAULT_UNDERLAY})")


def home_dir() -> Path:
    from berth.client.kubeconfig import berth_home

    return berth_home(os.environ)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from berth.cluster.errors import ClusterError
    from berth.cluster.up import UpOptions, bring_up
    from berth.netagent.errors import NetAgentError

    console = Console(stderr=True)
    if args.add_node:
        return _add_node(console, args.timeout)
    if args.restart_node:
        return _restart_node(console, args.restart_node)
    opts = UpOptions(nodes=args.nodes, backend=args.backend, pod_cidr=args.pod_network_cidr,
                     service_cidr=args.service_cidr, node_mask=args.node_cidr_mask_size,
                     underlay=args.underlay, underlay_mtu=args.underlay_mtu,
                     datastore=args.datastore, etcd_members=args.etcd_members,
                     port=args.port, timeout=args.timeout,
                     cluster=args.name)
    home = home_dir()
    try:
        with console.status("berth up") as status:
            def report(line: str) -> None:
                console.print(f"[green]✓[/green] {line}" if not line.startswith("start-up")
                              else f"[red]✗[/red] {line}")
                status.update(line)

            state = bring_up(opts, home, report)
    except (NetAgentError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"cluster up: {len(state.nodes)} nodes ({state.backend}), "
                  f"API server {state.server_url}")
    print(f"export KUBECONFIG={state.kubeconfig}")
    return 0


def _add_node(console: Console, timeout: float) -> int:
    from berth.cluster.errors import ClusterError
    from berth.cluster.up import add_node

    try:
        rec = add_node(home_dir(), lambda line: console.print(f"[green]✓[/green] {line}"),
                       timeout)
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"node {rec.name} is Ready: {rec.ip}, pods {rec.subnet}")
    return 0


def _restart_node(console: Console, name: str) -> int:
    from berth.cluster.errors import ClusterError
    from berth.cluster.machine import restart_node

    try:
        proc = restart_node(home_dir(), name)
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"node {name}: berth node started again (pid {proc.pid})")
    return 0
