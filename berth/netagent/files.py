"""The two files the agent hands to CNI: the node's subnet file and its CNI conflist.

``render_subnet_env`` is flannel's ``subnet.env`` with berth's names: the
cluster network, this node's subnet (with the gateway address the bridge
takes), the pod MTU the backend leaves, and whether to masquerade (never:
pods talk to pods with their own source addresses).  The ``berth-net`` meta
plugin reads it.  ``render_conflist`` picks the node's network configuration
list (``berth.cni.defaults`` renders and writes them all): the ``berth-net``
chain, or, for hosts with only the reference plugins, the same network spelled
out for ``bridge`` + ``host-local`` with the backend's MTU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from berth.api.addressplan import AddressPlan
from berth.cni.defaults import (
    bridge_conflist,
    meta_conflist,
    write_atomic,
    write_conflist,
)

__all__ = ["render_conflist", "render_subnet_env", "write_atomic", "write_conflist"]


def render_subnet_env(cluster: AddressPlan, subnet: str) -> str:
    import ipaddress

    net = ipaddress.IPv4Network(subnet)
    gateway = net.network_address + 1
    return (f"BERTH_NETWORK={cluster.cluster_cidr}\n"
            f"BERTH_SUBNET={gateway}/{net.prefixlen}\n"
            f"BERTH_MTU={cluster.pod_mtu}\n"
            "BERTH_IPMASQ=false\n")


def render_conflist(cluster: AddressPlan, subnet: str, subnet_file: Path,
                    data_dir: Path, cni_plugin: str = "bridge", socket: str = ""
                    ) -> dict[str, Any]:
    if cni_plugin == "berth-net":
        return meta_conflist(subnet_file, data_dir, socket)
    return bridge_conflist(subnet, data_dir, mtu=cluster.pod_mtu, default_route=True,
                           plugin=cni_plugin)
