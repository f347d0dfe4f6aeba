"""``berth down``: remove the one-machine cluster and everything it made.

Runs ``berth.cluster.down.bring_down`` with one progress line per step; if
something could not be removed, it is listed and the exit code is 1 (the
state file is kept so a second ``berth down`` can try again).
"""

from __future__ import annotations

import argparse

from berth.cli.errors import CliError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options: the state file says what to remove


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from berth.cli.up import home_dir
    from berth.cluster.down import bring_down
    from berth.cluster.errors import ClusterError

    console = Console(stderr=True)
    try:
        problems = bring_down(home_dir(), lambda line: console.print(f"[green]✓[/green] {line}"))
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    if problems:
        raise CliError("could not remove everything:\n  " + "\n  ".join(problems))
    console.print("cluster removed")
    return 0
