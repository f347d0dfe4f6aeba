"""What one node's network agent needs (``AgentConfig``), and the names of what it makes.

The cluster-wide settings (cluster CIDR, node mask, backend, MTU) are the
cluster's address plan, ``berth.api.addressplan.AddressPlan``, checked once
where the process is assembled; ``AgentConfig`` adds this node's part: its
name, underlay address and device, the namespace it programs, where it writes
the subnet file and the CNI conflist.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from berth.api.addressplan import AddressPlan

VXLAN_DEVICE = "bth.vxlan"
VXLAN_VNI = 1
VXLAN_PORT = 8472


@dataclass(frozen=True)
class AgentConfig:
    """What one node's network agent needs."""

    node_name: str
    cluster: AddressPlan
    public_ip: ipaddress.IPv4Address
    underlay_device: str
    netns: str = ""  # the node's network namespace ("" = the agent's own)
    subnet_file: Path = Path("/run/berth/subnet.env")
    cni_conf_dir: Path | None = None
    cni_data_dir: Path = Path("/var/lib/berth/cni/networks")
    cni_plugin: str = "bridge"  # or "berth-net" (the meta plugin chain)
    cni_socket: str = ""  # the CNI fast-path server's socket, named in the conflist
    resync_seconds: float = 10.0
