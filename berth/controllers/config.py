"""What the controllers are configured with: the cluster's address plan.

`ControllerConfig` carries the pod network (split into per-node subnets by the
node IPAM controller), the Service CIDR and NodePort range (used by the
allocators in the Service create path). `validate` runs once at server start and
raises `ControllerConfigError` naming the flag: unparsable CIDRs, a node mask that
does not fit in the cluster CIDR, pod and Service ranges that overlap, a bad port
range. The fields mirror `berth server` flags (see docs/controllers.md).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from berth.controllers.errors import ControllerConfigError

DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_NODE_CIDR_MASK = 24
DEFAULT_NODE_PORT_RANGE = (30000, 32767)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidr(text: str, flag: str) -> Network:
    """A network from ``text``; ControllerConfigError naming ``flag`` if it is not one."""
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise ControllerConfigError(f"{flag}: {text!r} is not a CIDR ({exc})") from None


def parse_port_range(text: str, flag: str = "--service-node-port-range") -> tuple[int, int]:
    """``30000-32767`` as (30000, 32767)."""
    low, sep, high = text.partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise ControllerConfigError(f"{flag}: {text!r} is not a port range like 30000-32767")
    return int(low), int(high)


@dataclass(frozen=True)
class ControllerConfig:
    """The address plan; defaults match Kubernetes' kubeadm and berth's one-machine cluster."""

    cluster_cidr: str = DEFAULT_CLUSTER_CIDR
    node_cidr_mask: int = DEFAULT_NODE_CIDR_MASK
    service_cidr: str = DEFAULT_SERVICE_CIDR
    node_port_range: tuple[int, int] = DEFAULT_NODE_PORT_RANGE

    def cluster_network(self) -> Network:
        return parse_cidr(self.cluster_cidr, "--pod-network-cidr")

    def service_network(self) -> Network:
        return parse_cidr(self.service_cidr, "--service-cidr")

    def validate(self) -> None:
        """Raise ControllerConfigError naming the first flag whose value cannot be used."""
        cluster = self.cluster_network()
        service = self.service_network()
        mask = self.node_cidr_mask
        if not 0 < mask <= cluster.max_prefixlen:
            raise ControllerConfigError(
                f"--node-cidr-mask-size: {mask} is not a prefix length for "
                f"IPv{cluster.version} (1-{cluster.max_prefixlen})")
        if mask < cluster.prefixlen:
            raise ControllerConfigError(
                f"--node-cidr-mask-size: /{mask} is larger than the cluster CIDR "
                f"{cluster} (--pod-network-cidr): a node subnet must fit inside it")
        if cluster.version != service.version:
            raise ControllerConfigError(
                f"--service-cidr: {service} and --pod-network-cidr {cluster} are of "
                "different IP families")
        if cluster.overlaps(service):
            raise ControllerConfigError(
                f"--service-cidr: {service} overlaps --pod-network-cidr {cluster}; "
                "pod and Service addresses must come from separate ranges")
        if service.num_addresses < 4:
            raise ControllerConfigError(
                f"--service-cidr: {service} is too small (it needs at least 4 addresses)")
        low, high = self.node_port_range
        if not 0 < low <= high <= 65535:
            raise ControllerConfigError(
                f"--service-node-port-range: {low}-{high} is not a range of TCP/UDP ports")
