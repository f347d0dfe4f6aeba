"""The cluster's address plan: one pure value that every process derives its addresses from.

A cluster has one plan, chosen at ``berth up`` / ``berth init`` (or by
``berth server`` flags) and handed to every part that needs a piece of it:

- the cluster CIDR (``--pod-network-cidr``), cut into node subnets of
  ``/node_mask`` (``--node-cidr-mask-size``) by the node IPAM controller;
  a node's own subnet is its ``spec.podCIDR`` (Kubernetes' meaning of
  "pod CIDR", the kubelet's ``--pod-cidr``), never the cluster range;
- the Service CIDR (``--service-cidr``) and the NodePort range;
- the cluster DNS address (the tenth address of the Service range, as kubeadm
  does, unless ``--cluster-dns`` names another) and the cluster domain;
- the underlay: the nodes' own network in a one-machine cluster (``berth up``
  chooses it; on real machines it is theirs, and the plan leaves it out);
- the data path between nodes (``--backend``) and the underlay MTU, which
  together give the pods' MTU.

``AddressPlan.parse`` checks all of it once, before anything is created, and
raises ``AddressPlanError`` naming the flag.  Every default is written here
and only here.  ``node_subnet``/``subnet_index`` are the one place subnet
arithmetic lives.  ``to_doc``/``from_doc`` are the plan as the cluster stores
it (``network.json``, handed to joining nodes).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_NODE_MASK = 24
DEFAULT_NODE_PORT_RANGE = (30000, 32767)
DEFAULT_CLUSTER_DOMAIN = "cluster.local"
DEFAULT_UNDERLAY = "198.18.0.0/24"
DEFAULT_BACKEND = "vxlan"
DEFAULT_UNDERLAY_MTU = 1500
DNS_INDEX = 10  # kubeadm: the DNS Service holds the tenth address of the Service range
BACKENDS = ("vxlan", "host-gw")
VXLAN_OVERHEAD = 50  # outer IPv4 + UDP + VXLAN + inner Ethernet headers
MIN_MTU = 576


class AddressPlanError(ValueError):
    """A setting of the plan cannot be used; the message starts with the flag that set it."""


class MtuTooSmall(AddressPlanError):
    """The underlay MTU leaves too little room for pods after VXLAN's headers."""


def parse_network(text: str, flag: str) -> Network:
    """A network from ``text``; AddressPlanError naming ``flag`` if it is not one."""
    try:
        return ipaddress.ip_network(str(text).strip(), strict=True)
    except ValueError as exc:
        raise AddressPlanError(f"{flag}: {text!r} is not a CIDR ({exc})") from None


def parse_port_range(text: str | tuple[int, int],
                     flag: str = "--service-node-port-range") -> tuple[int, int]:
    """``30000-32767`` (or a tuple) as (30000, 32767), checked."""
    if isinstance(text, tuple):
        low, high = text
    else:
        first, sep, last = text.partition("-")
        if not sep or not first.strip().isdigit() or not last.strip().isdigit():
            raise AddressPlanError(f"{flag}: {text!r} is not a port range like 30000-32767")
        low, high = int(first), int(last)
    if not 0 < low <= high <= 65535:
        raise AddressPlanError(f"{flag}: {low}-{high} is not a range of TCP/UDP ports")
    return low, high


@dataclass(frozen=True)
class AddressPlan:
    """The checked plan; build it with ``parse`` (the fields are already validated)."""

    cluster_cidr: Network
    service_cidr: Network
    node_mask: int
    node_port_range: tuple[int, int]
    dns_ip: Address | None  # None: the Service range is too small to hold one
    cluster_domain: str
    underlay: ipaddress.IPv4Network | None  # the one-machine cluster's node network
    backend: str
    underlay_mtu: int

    @classmethod
    def parse(cls, cluster_cidr: str = DEFAULT_CLUSTER_CIDR,
              service_cidr: str = DEFAULT_SERVICE_CIDR, node_mask: int = DEFAULT_NODE_MASK,
              backend: str = DEFAULT_BACKEND, underlay_mtu: int = DEFAULT_UNDERLAY_MTU, *,
              node_port_range: str | tuple[int, int] = DEFAULT_NODE_PORT_RANGE,
              dns_ip: str = "", cluster_domain: str = DEFAULT_CLUSTER_DOMAIN,
              underlay: str = "") -> AddressPlan:
        """Check every setting, naming the flag of the first that cannot work."""
        pods = parse_network(cluster_cidr, "--pod-network-cidr")
        services = parse_network(service_cidr, "--service-cidr")
        if not 0 < node_mask <= pods.max_prefixlen:
            raise AddressPlanError(
                f"--node-cidr-mask-size: {node_mask} is not a prefix length for "
                f"IPv{pods.version} (1-{pods.max_prefixlen})")
        if node_mask < pods.prefixlen:
            raise AddressPlanError(
                f"--node-cidr-mask-size: /{node_mask} is larger than the cluster CIDR {pods} "
                "(--pod-network-cidr): a node subnet must fit inside it")
        if node_mask == pods.prefixlen:
            raise AddressPlanError(
                f"--node-cidr-mask-size: /{node_mask} must be longer than the cluster mask "
                f"/{pods.prefixlen} (--pod-network-cidr {pods}): node subnets are cut from it")
        if pods.version == 4 and node_mask > 30:
            raise AddressPlanError(f"--node-cidr-mask-size: /{node_mask} leaves no room for "
                                   "pods (at most /30)")
        if pods.version != services.version:
            raise AddressPlanError(f"--service-cidr: {services} and --pod-network-cidr {pods} "
                                   "are of different IP families")
        if pods.overlaps(services):
            raise AddressPlanError(f"--service-cidr: {services} overlaps --pod-network-cidr "
                                   f"{pods}; pod and Service addresses must come from "
                                   "separate ranges")
        if services.num_addresses < 4:
            raise AddressPlanError(f"--service-cidr: {services} is too small (it needs at "
                                   "least 4 addresses)")
        ports = parse_port_range(node_port_range)
        dns = _dns_address(dns_ip, services)
        domain = cluster_domain.strip().strip(".")
        if not domain:
            raise AddressPlanError("--cluster-domain: must not be empty")
        nodes_net = _underlay(underlay, pods, services) if underlay else None
        if backend not in BACKENDS:
            raise AddressPlanError(f"--backend: {backend!r}: choose one of "
                                   f"{', '.join(BACKENDS)}")
        if backend == "vxlan" and underlay_mtu - VXLAN_OVERHEAD < MIN_MTU:
            raise MtuTooSmall(
                f"--underlay-mtu: {underlay_mtu} leaves {underlay_mtu - VXLAN_OVERHEAD} bytes "
                f"for pods after VXLAN's {VXLAN_OVERHEAD}; need at least "
                f"{MIN_MTU + VXLAN_OVERHEAD}")
        if not MIN_MTU <= underlay_mtu <= 65535:
            raise AddressPlanError(f"--underlay-mtu: {underlay_mtu} is not between {MIN_MTU} "
                                   "and 65535")
        return cls(pods, services, node_mask, ports, dns, domain, nodes_net, backend,
                   underlay_mtu)

    # -- derived values --------------------------------------------------------------------
    @property
    def pod_mtu(self) -> int:
        return self.underlay_mtu - (VXLAN_OVERHEAD if self.backend == "vxlan" else 0)

    @property
    def subnet_count(self) -> int:
        return 1 << (self.node_mask - self.cluster_cidr.prefixlen)

    def node_subnet(self, index: int) -> Network:
        """The ``index``-th node subnet (0-based); AddressPlanError when the range is used up."""
        if not 0 <= index < self.subnet_count:
            raise AddressPlanError(
                f"--pod-network-cidr: {self.cluster_cidr} has room for {self.subnet_count} "
                f"node subnets of /{self.node_mask}, not {index + 1}")
        size = 1 << (self.cluster_cidr.max_prefixlen - self.node_mask)
        base = int(self.cluster_cidr.network_address) + index * size
        return ipaddress.ip_network((base, self.node_mask))

    def subnet_index(self, cidr: str) -> int | None:
        """The index of ``cidr`` if it is one of the cluster's node subnets, else None."""
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            return None
        if net.version != self.cluster_cidr.version or net.prefixlen != self.node_mask:
            return None
        if not net.subnet_of(self.cluster_cidr):  # type: ignore[arg-type]
            return None
        size = 1 << (self.cluster_cidr.max_prefixlen - self.node_mask)
        return (int(net.network_address) - int(self.cluster_cidr.network_address)) // size

    def require_dns_ip(self) -> Address:
        """The cluster DNS address, for the parts that put it into pods' resolv.conf."""
        if self.dns_ip is None:
            raise AddressPlanError(f"--service-cidr: {self.service_cidr} has no "
                                   f"{DNS_INDEX}th address for the cluster DNS; give "
                                   "--cluster-dns")
        return self.dns_ip

    def require_ipv4(self) -> None:
        """The network agent's data paths are IPv4: refuse an IPv6 plan, naming the flag."""
        if self.cluster_cidr.version != 4:
            raise AddressPlanError(f"--pod-network-cidr: {self.cluster_cidr}: the network "
                                   "agent supports only IPv4")

    # -- stored form -----------------------------------------------------------------------
    def to_doc(self) -> dict[str, Any]:
        """The plan as ``network.json`` keeps it and the join service hands it out."""
        return {"podCIDR": str(self.cluster_cidr), "serviceCIDR": str(self.service_cidr),
                "nodeMask": self.node_mask, "backend": self.backend,
                "underlayMTU": self.underlay_mtu,
                "nodePortRange": f"{self.node_port_range[0]}-{self.node_port_range[1]}",
                "clusterDNS": str(self.dns_ip or ""), "clusterDomain": self.cluster_domain,
                "underlay": str(self.underlay or "")}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AddressPlan:
        """Parse a stored plan (older documents lack the keys added later: defaults)."""
        return cls.parse(
            str(doc["podCIDR"]), str(doc["serviceCIDR"]), int(str(doc["nodeMask"])),
            str(doc.get("backend", DEFAULT_BACKEND)),
            int(str(doc.get("underlayMTU", DEFAULT_UNDERLAY_MTU))),
            node_port_range=str(doc.get("nodePortRange") or "") or DEFAULT_NODE_PORT_RANGE,
            dns_ip=str(doc.get("clusterDNS") or ""),
            cluster_domain=str(doc.get("clusterDomain") or DEFAULT_CLUSTER_DOMAIN),
            underlay=str(doc.get("underlay") or ""))


def _underlay(text: str, pods: Network, services: Network) -> ipaddress.IPv4Network:
    network = parse_network(text, "--underlay")
    if not isinstance(network, ipaddress.IPv4Network):
        raise AddressPlanError(f"--underlay: {text!r} is not an IPv4 CIDR")
    if network.overlaps(pods) or network.overlaps(services):
        raise AddressPlanError(f"--underlay: {network} overlaps the pod or service range")
    return network


def service_address(services: Network, index: int) -> Address | None:
    """The ``index``-th address of the Service range; None if the range is too small."""
    return services[index] if index < services.num_addresses - 1 else None


def _dns_address(text: str, services: Network) -> Address | None:
    if not text:
        return service_address(services, DNS_INDEX)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise AddressPlanError(f"--cluster-dns: {text!r} is not an IP address") from None
    if address not in services:
        raise AddressPlanError(f"--cluster-dns: {address} is not inside --service-cidr "
                               f"{services}")
    return address


DEFAULT_PLAN = AddressPlan.parse()
