"""The two files the agent hands to CNI: the node's subnet file and its CNI conflist.

``render_subnet_env`` is flannel's ``subnet.env`` with berth's names: the
cluster network, this node's subnet (with the gateway address the bridge
takes), the pod MTU the backend leaves, and whether to masquerade (never:
pods talk to pods with their own source addresses).  The ``berth-net`` meta
plugin reads it; ``render_conflist`` writes a network configuration list that
uses it (``cni_plugin="berth-net"``: the chain berth-net + berth-portmap +
berth-loopback, with ``berthSocket`` naming the node's CNI fast-path server
when there is one) or the same network spelled out for the plain ``bridge`` +
``host-local`` plugins (for hosts with only the reference plugins).
``write_atomic`` replaces a file in one rename, so a plugin never reads half.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from berth.netagent.config import CNI_BRIDGE, ClusterNetwork

CONFLIST_NAME = "10-berth.conflist"


def render_subnet_env(cluster: ClusterNetwork, subnet: str) -> str:
    import ipaddress

    net = ipaddress.IPv4Network(subnet)
    gateway = net.network_address + 1
    return (f"BERTH_NETWORK={cluster.pod_cidr}\n"
            f"BERTH_SUBNET={gateway}/{net.prefixlen}\n"
            f"BERTH_MTU={cluster.pod_mtu}\n"
            "BERTH_IPMASQ=false\n")


def render_conflist(cluster: ClusterNetwork, subnet: str, subnet_file: Path,
                    data_dir: Path, cni_plugin: str = "bridge", socket: str = ""
                    ) -> dict[str, Any]:
    if cni_plugin == "berth-net":
        return render_meta_conflist(subnet_file, data_dir, socket)
    plugin = {"type": cni_plugin, "bridge": CNI_BRIDGE, "isGateway": True,
              "ipMasq": False, "hairpinMode": True, "mtu": cluster.pod_mtu,
              "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]],
                       "routes": [{"dst": "0.0.0.0/0"}],
                       "dataDir": str(data_dir)}}
    return {"cniVersion": "1.0.0", "name": "berth", "plugins": [plugin]}


def render_meta_conflist(subnet_file: Path, data_dir: Path, socket: str = ""
                         ) -> dict[str, Any]:
    """The ``berth-net`` chain; it does not depend on the subnet, so it can exist first."""
    extra: dict[str, Any] = {"berthSocket": socket} if socket else {}
    return {"cniVersion": "1.0.0", "name": "berth", "plugins": [
        {"type": "berth-net", "subnetFile": str(subnet_file), "dataDir": str(data_dir),
         "ipamDataDir": str(data_dir / "ipam"), **extra},
        {"type": "berth-portmap", "capabilities": {"portMappings": True}, **extra},
        {"type": "berth-loopback", **extra}]}


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it already holds it; True when it changed."""
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def write_conflist(conf_dir: Path, conflist: dict[str, Any]) -> bool:
    return write_atomic(conf_dir / CONFLIST_NAME, json.dumps(conflist, indent=2) + "\n")
