"""``berth status``: what is up - the server, each node's namespace, processes and readiness.

Reads the state file (``berth.cluster.state``), asks the API server for the
Nodes when it answers, and prints a table (``berth.cluster.status`` gathers
the rows).  With no cluster up it says so, with exit code 1.
"""

from __future__ import annotations

import argparse
from typing import Any

from berth.cli.errors import CliError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


async def _nodes(kubeconfig: str) -> list[dict[str, Any]] | None:
    from berth.api.resources import by_key
    from berth.client import Client, ClientError, load_config

    nodes = by_key("nodes")
    assert nodes is not None
    try:
        async with Client(load_config(kubeconfig, {}), timeout=3) as client:
            return list((await client.list(nodes)).get("items") or [])
    except ClientError:
        return None


def main(args: argparse.Namespace) -> int:
    import asyncio

    from rich.console import Console
    from rich.table import Table

    from berth.cli.up import home_dir
    from berth.cluster.state import load_state
    from berth.cluster.status import gather_status

    home = home_dir()
    state = load_state(home)
    if state is None:
        raise CliError(f"no cluster is up (no {home}/cluster.json); start one with `berth up`")
    status = gather_status(state, asyncio.run(_nodes(state.kubeconfig)))
    import sys

    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(f"cluster: {status.phase}, backend {status.backend}, pods {state.pod_cidr}, "
                  f"services {state.service_cidr}, underlay {state.underlay}")
    console.print(f"API server: {status.server_url} ({status.server})")
    console.print(f"kubeconfig: {status.kubeconfig}")
    table = Table("NODE", "NETNS", "IP", "POD SUBNET", "BERTH NODE", "READY", "NETWORK",
                  box=None)
    for n in status.nodes:
        table.add_row(n.name, n.netns + ("" if n.netns_present else " (missing)"), n.ip,
                      n.subnet, n.agent, n.ready, n.network)
    console.print(table)
    return 0
