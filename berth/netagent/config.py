"""The network's settings: cluster-wide (``ClusterNetwork``) and per agent (``AgentConfig``).

``ClusterNetwork.parse`` turns the strings a user typed (``--pod-network-cidr``,
``--service-cidr``, ``--backend``, the node mask, the underlay MTU) into
checked values, refusing what cannot work before anything is created:
overlapping pod and service ranges, a node mask not longer than the cluster
mask, an underlay MTU too small for VXLAN's 50 bytes of headers.  Each message
names the flag.  ``AgentConfig`` is what one node's agent needs on top: its
name, underlay address and device, the namespace it programs, where it writes
the subnet file and the CNI conflist.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from berth.netagent.errors import MtuTooSmall, NetConfigError

BACKENDS = ("vxlan", "host-gw")
VXLAN_OVERHEAD = 50
VXLAN_DEVICE = "bth.vxlan"
VXLAN_VNI = 1
VXLAN_PORT = 8472
MIN_MTU = 576
CNI_BRIDGE = "bth0"


def _network(flag: str, text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise NetConfigError(f"{flag}: {text!r} is not a CIDR ({exc})") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise NetConfigError(f"{flag}: {text!r}: only IPv4 is supported")
    return net


@dataclass(frozen=True)
class ClusterNetwork:
    """Checked cluster-wide network settings."""

    pod_cidr: ipaddress.IPv4Network
    service_cidr: ipaddress.IPv4Network
    node_mask: int = 24
    backend: str = "vxlan"
    underlay_mtu: int = 1500

    @classmethod
    def parse(cls, pod_cidr: str = "10.244.0.0/16", service_cidr: str = "10.96.0.0/12",
              node_mask: int = 24, backend: str = "vxlan",
              underlay_mtu: int = 1500) -> ClusterNetwork:
        pods = _network("--pod-network-cidr", pod_cidr)
        services = _network("--service-cidr", service_cidr)
        if pods.overlaps(services):
            raise NetConfigError(f"--service-cidr: {services} overlaps --pod-network-cidr {pods}")
        if not pods.prefixlen < node_mask <= 30:
            raise NetConfigError(
                f"--node-cidr-mask-size: /{node_mask} must be longer than the cluster "
                f"mask /{pods.prefixlen} and at most /30")
        if backend not in BACKENDS:
            raise NetConfigError(f"--backend: {backend!r}: choose one of {', '.join(BACKENDS)}")
        if backend == "vxlan" and underlay_mtu - VXLAN_OVERHEAD < MIN_MTU:
            raise MtuTooSmall(
                f"--underlay-mtu: {underlay_mtu} leaves {underlay_mtu - VXLAN_OVERHEAD} bytes "
                f"for pods after VXLAN's {VXLAN_OVERHEAD}; need at least "
                f"{MIN_MTU + VXLAN_OVERHEAD}")
        if underlay_mtu < MIN_MTU or underlay_mtu > 65535:
            raise NetConfigError(f"--underlay-mtu: {underlay_mtu} is not between {MIN_MTU} "
                                 "and 65535")
        return cls(pods, services, node_mask, backend, underlay_mtu)

    @property
    def pod_mtu(self) -> int:
        return self.underlay_mtu - (VXLAN_OVERHEAD if self.backend == "vxlan" else 0)

    def node_subnet(self, index: int) -> ipaddress.IPv4Network:
        """The ``index``-th node subnet (0-based); NetConfigError when the range is used up."""
        count = 1 << (self.node_mask - self.pod_cidr.prefixlen)
        if not 0 <= index < count:
            raise NetConfigError(f"--pod-network-cidr: {self.pod_cidr} has room for {count} "
                                 f"node subnets of /{self.node_mask}, not {index + 1}")
        size = 1 << (32 - self.node_mask)
        base = int(self.pod_cidr.network_address) + index * size
        return ipaddress.IPv4Network((base, self.node_mask))


@dataclass(frozen=True)
class AgentConfig:
    """What one node's network agent needs."""

    node_name: str
    cluster: ClusterNetwork
    public_ip: ipaddress.IPv4Address
    underlay_device: str
    netns: str = ""  # the node's network namespace ("" = the agent's own)
    subnet_file: Path = Path("/run/berth/subnet.env")
    cni_conf_dir: Path | None = None
    cni_data_dir: Path = Path("/var/lib/berth/cni/networks")
    cni_plugin: str = "bridge"  # or "berth-net" (the meta plugin chain)
    cni_socket: str = ""  # the CNI fast-path server's socket, named in the conflist
    resync_seconds: float = 10.0
