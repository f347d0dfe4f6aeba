"""``berth status``: what the state file says is up, checked against the machine.

``gather_status`` pairs each recorded node with its namespace's presence and
its process's liveness (by PID and start time), and, when the API server
answers, with the Node's pod subnet (from the node IPAM controller) and its
Ready and NetworkUnavailable conditions.  The CLI
renders the resulting rows; nothing here changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from berth.cluster.state import ClusterState, process_alive
from berth.host import netns


@dataclass(frozen=True)
class NodeStatus:
    name: str
    netns: str
    netns_present: bool
    ip: str
    subnet: str
    agent: str  # "up PID" / "stopped" / "not started": the node's one berth node process
    ready: str  # condition status from the API, "?" when unknown
    network: str


@dataclass(frozen=True)
class ClusterStatus:
    phase: str
    backend: str
    server: str
    server_url: str
    kubeconfig: str
    nodes: tuple[NodeStatus, ...]


def _proc(state: ClusterState, role: str, node: str = "") -> str:
    for p in state.processes:
        if p.role == role and p.node == node:
            return f"up {p.pid}" if process_alive(p) else "stopped"
    return "not started"


def gather_status(state: ClusterState, nodes: list[dict[str, Any]] | None) -> ClusterStatus:
    by_name = {n["metadata"]["name"]: n for n in nodes or []}
    rows = []
    for rec in state.nodes:
        conds = {c.get("type"): c.get("status") for c in
                 ((by_name.get(rec.name) or {}).get("status") or {}).get("conditions") or []}
        unknown = "?" if nodes is None else "-"
        network = conds.get("NetworkUnavailable")
        rows.append(NodeStatus(
            name=rec.name, netns=rec.netns, netns_present=netns.exists(rec.netns), ip=rec.ip,
            subnet=((by_name.get(rec.name) or {}).get("spec") or {}).get("podCIDR")
            or rec.subnet or unknown,
            agent=_proc(state, "node", rec.name),
            ready=conds.get("Ready") or unknown,
            network=("ok" if network == "False" else "unavailable") if network else unknown))
    return ClusterStatus(phase=state.phase, backend=state.backend,
                         server=_proc(state, "server"), server_url=state.server_url,
                         kubeconfig=state.kubeconfig, nodes=tuple(rows))
