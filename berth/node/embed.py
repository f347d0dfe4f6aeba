"""Compatibility name for ``berth.node.run.run_node``: ``berth node``'s entry point.

The assembly (agent, CNI fast-path server, companions, registration without a
pod CIDR) lives in ``berth.node.run``; ``berth.cli.node`` still imports
``run_node_with`` from here.  Import ``run_node`` instead; this module goes
away once nothing names it.
"""

from __future__ import annotations

from berth.node.companions import Companion, keep_running
from berth.node.run import run_node

run_node_with = run_node

__all__ = ["Companion", "keep_running", "run_node", "run_node_with"]
