"""The one-machine cluster's wiring: described first (pure), then built and removed.

``plan_topology`` describes the cluster as frozen values, mininet-style: a
fabric namespace ``berth-<cluster>fabric`` holding the underlay bridge, one
namespace ``berth-<node>`` per node joined to that bridge by a veth pair
(``bthf<k>`` on the bridge, ``bthu0`` in the node, underlay address
198.18.0.(10+k)/24), and optionally the host link: a
veth from the root namespace (``bth-host``, 198.18.0.1/24) to the bridge, so
the API server in the root namespace reaches the nodes and they reach it.
A node's pod subnet is not part of the wiring: the node IPAM controller
assigns it when the Node registers.
That link and its connected route to the underlay /24 are the only things
added to the root namespace; nothing routes pod or service ranges there.

``setup_fabric``/``setup_node`` build what the plan says through
``berth.host`` (idempotent: what exists is kept); ``teardown_topology``
removes it all, also when it is half made.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass

from berth.api.addressplan import DEFAULT_UNDERLAY, AddressPlan
from berth.host import netns
from berth.host.errors import HostError, NetnsError
from berth.host.netlink import Netlink

CLUSTER_NAME = re.compile(r"([a-z][a-z0-9]{0,7})?")
UNDERLAY = ipaddress.IPv4Network(DEFAULT_UNDERLAY)
FABRIC_BRIDGE = "bthbr0"
HOST_LINK = "bth-host"
HOST_PORT = "bthf0"
NODE_UNDERLAY = "bthu0"
FIRST_NODE_HOST = 10


@dataclass(frozen=True)
class NodeWiring:
    name: str
    index: int  # 1-based
    netns: str
    fabric_port: str
    underlay_ip: ipaddress.IPv4Interface


@dataclass(frozen=True)
class Topology:
    cluster: str  # "" for the default cluster; tests use a short tag
    network: AddressPlan
    underlay: ipaddress.IPv4Network
    fabric_netns: str
    host_link: bool
    host_ip: ipaddress.IPv4Interface
    host_link_name: str
    nodes: tuple[NodeWiring, ...]

    def node(self, name: str) -> NodeWiring:
        return next(n for n in self.nodes if n.name == name)


def node_name(cluster: str, index: int) -> str:
    return f"{cluster}-node{index}" if cluster else f"node{index}"


def plan_topology(node_count: int, network: AddressPlan, *, cluster: str = "",
                  underlay: ipaddress.IPv4Network | None = None,
                  host_link: bool = True) -> Topology:
    """The whole wiring of ``node_count`` nodes; ValueError names what does not fit."""
    underlay = underlay or network.underlay or UNDERLAY
    if not CLUSTER_NAME.fullmatch(cluster):
        raise ValueError(f"--name: {cluster!r}: use at most 8 lowercase letters and digits, "
                         "starting with a letter (it goes into link and namespace names)")
    if node_count < 1:
        raise ValueError(f"--nodes: {node_count}: need at least one node")
    if underlay.num_addresses < FIRST_NODE_HOST + node_count + 2:
        raise ValueError(f"--underlay: {underlay} has no room for {node_count} nodes")
    if underlay.overlaps(network.cluster_cidr) or underlay.overlaps(network.service_cidr):
        raise ValueError(f"--underlay: {underlay} overlaps the pod or service range")
    nodes = []
    for k in range(1, node_count + 1):
        name = node_name(cluster, k)
        ip = underlay.network_address + FIRST_NODE_HOST + k
        nodes.append(NodeWiring(
            name=name, index=k, netns=f"berth-{name}", fabric_port=f"bthf{k}",
            underlay_ip=ipaddress.IPv4Interface(f"{ip}/{underlay.prefixlen}")))
    return Topology(cluster=cluster, network=network, underlay=underlay,
                    fabric_netns=f"berth-{cluster}-fabric" if cluster else "berth-fabric",
                    host_link=host_link,
                    host_ip=ipaddress.IPv4Interface(
                        f"{underlay.network_address + 1}/{underlay.prefixlen}"),
                    host_link_name=f"bth{cluster}h" if cluster else HOST_LINK,
                    nodes=tuple(nodes))


def _ensure_netns(name: str) -> str:
    if not netns.exists(name):
        netns.create_netns(name)
    path = netns.netns_path(name)
    with Netlink.open(path) as nl:
        nl.set_up(nl.require_link("lo").index)
    return path


def setup_fabric(topo: Topology) -> None:
    """The fabric namespace, its bridge, and (if planned) the host link into it."""
    path = _ensure_netns(topo.fabric_netns)
    mtu = topo.network.underlay_mtu
    with Netlink.open(path) as fab:
        bridge = fab.ensure_bridge(FABRIC_BRIDGE, mtu)
        if not topo.host_link or fab.get_link(HOST_PORT) is not None:
            return
        root_fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            port = fab.add_veth(HOST_PORT, topo.host_link_name, root_fd, mtu, master=bridge.index)
        finally:
            os.close(root_fd)
        fab.set_up(port.index)
    with Netlink.open() as root:
        link = root.require_link(topo.host_link_name)
        root.ensure_addr(link.index, topo.host_ip)
        root.set_up(link.index)


def setup_node(topo: Topology, node: NodeWiring) -> None:
    """The node's namespace, wired to the fabric bridge with its underlay address."""
    path = _ensure_netns(node.netns)
    mtu = topo.network.underlay_mtu
    with Netlink.open(topo.fabric_netns) as fab:
        if fab.get_link(node.fabric_port) is None:
            bridge = fab.require_link(FABRIC_BRIDGE)
            node_fd = netns.open_netns(path)
            try:
                port = fab.add_veth(node.fabric_port, NODE_UNDERLAY, node_fd, mtu,
                                    master=bridge.index)
            finally:
                os.close(node_fd)
            fab.set_up(port.index)
    with Netlink.open(path) as nl:
        link = nl.require_link(NODE_UNDERLAY)
        nl.ensure_addr(link.index, node.underlay_ip)
        nl.set_up(link.index)


def teardown_topology(fabric_netns: str, node_netns: list[str], host_link: str) -> list[str]:
    """Remove the host link (if named) and every namespace; returns what was left."""
    problems: list[str] = []
    if host_link:
        try:
            with Netlink.open() as root:
                root.delete_link(host_link)
        except HostError as exc:
            problems.append(f"link {host_link}: {exc}")
    for name in [*node_netns, *([fabric_netns] if fabric_netns else [])]:
        try:
            netns.delete_netns(name)
        except NetnsError as exc:
            problems.append(f"netns {name}: {exc}")
    return problems
