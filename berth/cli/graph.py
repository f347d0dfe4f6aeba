"""``berth graph [-o FILE.svg|.png]``: draw the live cluster network with Graphviz.

Reads the state file, the Nodes and Pods from the API, and each node's
routes from its namespace (when run as root), then hands them to
``berth.cluster.graph``.  Without ``-o`` it prints the DOT text.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from berth.cli.errors import CliError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=Path,
                        help="picture to write (.svg, .png, .pdf, .dot); default: DOT on stdout")


async def _objects(kubeconfig: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from berth.api.resources import by_key
    from berth.client import Client, load_config

    nodes, pods = by_key("nodes"), by_key("pods")
    assert nodes is not None and pods is not None
    async with Client(load_config(kubeconfig, {})) as client:
        return (list((await client.list(nodes)).get("items") or []),
                list((await client.list(pods)).get("items") or []))


def _routes(netns_by_node: dict[str, str]) -> dict[str, list[str]]:
    import os

    from berth.host.errors import HostError
    from berth.host.fabric import Fabric

    out: dict[str, list[str]] = {}
    if os.geteuid() != 0:
        return out
    for node, ns in netns_by_node.items():
        try:
            with Fabric.open(ns) as fab:
                names = {link.index: link.name for link in fab.links()}
                out[node] = [f"{r.dst} via {r.gw} dev {names.get(r.oif, r.oif)}"
                             + (" onlink" if r.onlink else "") for r in fab.owned_routes()]
        except HostError:
            continue
    return out


def main(args: argparse.Namespace) -> int:
    import asyncio

    from berth.cli.up import home_dir
    from berth.cluster.errors import ClusterError
    from berth.cluster.graph import build_model, render_dot, write_picture
    from berth.cluster.state import load_state

    home = home_dir()
    try:
        state = load_state(home)
        if state is None:
            raise CliError(f"no cluster is up (no {home}/cluster.json); start one with "
                           "`berth up`")
        nodes, pods = asyncio.run(_objects(state.kubeconfig))
        routes = _routes({n.name: n.netns for n in state.nodes})
        dot_text = render_dot(build_model(state, nodes, pods, routes))
        if args.output is None:
            print(dot_text, end="")
            return 0
        write_picture(dot_text, args.output)
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    print(f"wrote {args.output}")
    return 0
