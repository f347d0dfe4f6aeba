"""Pure planning for ``berth-net``: the node's subnet.env and the bridge config it implies.

The node's network agent writes one small file per node (flannel's
``subnet.env`` role)::

    BERTH_NETWORK=10.244.0.0/16     # the cluster's pod CIDR
    BERTH_SUBNET=10.244.1.1/24      # this node's pod subnet, with the gateway address
    BERTH_MTU=1450                  # the MTU pods get (the overlay's, or the underlay's)
    BERTH_IPMASQ=false              # masquerade pod traffic leaving the cluster CIDR

``parse_subnet_env`` reads it (code 7 naming the file and the variable);
``plan_delegate`` turns it plus the ``berth-net`` configuration into the
``berth-bridge`` + ``berth-host-local`` configuration that does the work.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from berth.cni.conf import NetConf, get_bool, get_str
from berth.cni.errors import InvalidConfig

DEFAULT_SUBNET_FILE = "/run/berth/subnet.env"
DEFAULT_BRIDGE = "bth0"
DEFAULT_DATA_DIR = "/var/lib/cni/berth-net"


@dataclass(frozen=True)
class NodeSubnet:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    subnet: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    mtu: int
    ip_masq: bool


def parse_subnet_env(text: str, where: str) -> NodeSubnet:
    values: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, eq, value = line.partition("=")
        if not eq:
            raise InvalidConfig(f"{where}:{n}: expected NAME=VALUE", line)
        values[key.strip()] = value.strip().strip('"')
    for key in ("BERTH_NETWORK", "BERTH_SUBNET"):
        if not values.get(key):
            raise InvalidConfig(f"{where}: {key} is missing")
    try:
        network = ipaddress.ip_network(values["BERTH_NETWORK"], strict=False)
    except ValueError as exc:
        raise InvalidConfig(f"{where}: BERTH_NETWORK: invalid CIDR "
                            f"{values['BERTH_NETWORK']!r}") from exc
    try:
        subnet = ipaddress.ip_interface(values["BERTH_SUBNET"])
    except ValueError as exc:
        raise InvalidConfig(f"{where}: BERTH_SUBNET: invalid CIDR "
                            f"{values['BERTH_SUBNET']!r}") from exc
    if subnet.version != network.version or not subnet.network.subnet_of(network):  # type: ignore[arg-type]
        raise InvalidConfig(f"{where}: BERTH_SUBNET: {subnet} is not inside "
                            f"BERTH_NETWORK {network}")
    mtu_text = values.get("BERTH_MTU", "1500")
    if not mtu_text.isdigit() or not 68 <= int(mtu_text) <= 65535:
        raise InvalidConfig(f"{where}: BERTH_MTU: expected an integer in [68, 65535], "
                            f"got {mtu_text!r}")
    masq = values.get("BERTH_IPMASQ", "false").lower()
    if masq not in ("true", "false", "1", "0"):
        raise InvalidConfig(f"{where}: BERTH_IPMASQ: expected true or false, got {masq!r}")
    return NodeSubnet(network, subnet, int(mtu_text), masq in ("true", "1"))


def subnet_file(conf: NetConf) -> str:
    return get_str(conf.raw, "subnetFile", default=DEFAULT_SUBNET_FILE)


def data_dir(conf: NetConf) -> str:
    return get_str(conf.raw, "dataDir", default=DEFAULT_DATA_DIR)


def plan_delegate(conf: NetConf, node: NodeSubnet) -> dict[str, Any]:
    """The delegate's network configuration (flannel's ``delegate`` merging rules).

    Fields of ``conf.delegate`` override berth-net's defaults; ``name``,
    ``cniVersion``, ``prevResult`` and ``runtimeConfig`` always come from ``conf``.
    """
    extra = conf.raw.get("delegate") or {}
    if not isinstance(extra, dict):
        raise InvalidConfig("delegate: expected an object")
    gateway = node.subnet.ip
    ipam: dict[str, Any] = {
        "type": "berth-host-local",
        "ranges": [[{"subnet": str(node.subnet.network), "gateway": str(gateway)}]],
        "routes": [{"dst": str(node.network)}],
    }
    ipam_dir = get_str(conf.raw, "ipamDataDir")
    if ipam_dir:
        ipam["dataDir"] = ipam_dir
    out: dict[str, Any] = {
        "type": "berth-bridge",
        "bridge": get_str(conf.raw, "bridge", default=DEFAULT_BRIDGE),
        "mtu": node.mtu,
        "isGateway": True,
        "isDefaultGateway": get_bool(conf.raw, "isDefaultGateway", default=True),
        "hairpinMode": get_bool(conf.raw, "hairpinMode", default=True),
        "ipMasq": node.ip_masq,
        "ipam": ipam,
    }
    out.update(extra)
    out.update({"cniVersion": conf.cni_version, "name": conf.name})
    for key in ("prevResult", "runtimeConfig", "args", "cni.dev/valid-attachments"):
        if key in conf.raw:
            out[key] = conf.raw[key]
    return out
