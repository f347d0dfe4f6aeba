"""berth.netagent: the per-node network agent (flannel's DaemonSet role).

``config`` holds the agent's settings (the cluster-wide ones are the address
plan, ``berth.api.addressplan``); ``plan`` turns this node and its peer Nodes
into the routes, neighbour and FDB entries the backend wants, and diffs them
against what the kernel holds; ``apply`` reads and changes the kernel through
``berth.host.fabric``; ``files`` renders the subnet file and CNI conflist;
``agent`` is the reconcile loop (``NetworkAgent.run``) that watches Nodes
through ``berth.client``.
"""

from berth.netagent.config import AgentConfig
from berth.netagent.errors import ApplyError, NetAgentError, NetConfigError

__all__ = [
    "AgentConfig",
    "ApplyError",
    "NetAgentError",
    "NetConfigError",
]
