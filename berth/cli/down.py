"""``berth down``: remove the one-machine cluster and everything it made.

Runs ``berth.cluster.down.bring_down`` with one progress line per step; if
something could not be removed, it is listed and the exit code is 1 (the
state file is kept so a second ``berth down`` can try again).  ``--node NAME``
removes one node of the cluster and leaves the rest running.
"""

from __future__ import annotations

import argparse

from berth.cli.errors import CliError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node", metavar="NAME", default="",
                        help="remove only this node (its process, pods, Node, namespace)")


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from berth.cli.up import home_dir
    from berth.cluster.down import bring_down, remove_node
    from berth.cluster.errors import ClusterError

    console = Console(stderr=True)
    try:
        def report(line: str) -> None:
            console.print(f"[green]✓[/green] {line}")

        problems = remove_node(home_dir(), args.node, report) if args.node else \
            bring_down(home_dir(), report)
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    if problems:
        raise CliError("could not remove everything:\n  " + "\n  ".join(problems))
    console.print(f"node {args.node} removed" if args.node else "cluster removed")
    return 0
