"""Fixtures for the network agent on the real kernel: a small fabric and hand-made pods.

``fabric`` builds the one-machine topology of ``berth.cluster.topology``
without the host link (nothing at all in the root namespace) under a random
cluster tag, so every namespace is ``berth-t<hex>-...``; ``make_pod`` adds a
"pod" the way a CNI bridge would (a namespace, a veth on the node's ``bth0``
bridge, an address from the node's subnet, a default route).  Everything is
removed in ``finally``, also when the test fails.  ``live_api`` runs a real
API server in the test's event loop on 127.0.0.1 and registers Node objects.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from berth.api.addressplan import DEFAULT_PLAN, AddressPlan
from berth.api.resources import by_key
from berth.client import Client, load_config
from berth.cluster.topology import (
    NodeWiring,
    Topology,
    plan_topology,
    setup_fabric,
    setup_node,
    teardown_topology,
)
from berth.cni.defaults import BRIDGE as CNI_BRIDGE
from berth.host import netns
from berth.host.netlink import Netlink
from berth.server import ServerConfig, start_server

NODES = by_key("nodes")
T = TypeVar("T")


def pod_subnet(node: NodeWiring) -> ipaddress.IPv4Network:
    """The subnet node k is given by hand here: the k-th of the cluster range."""
    return ipaddress.IPv4Network(DEFAULT_PLAN.node_subnet(node.index - 1))


def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` on a fresh thread and wait (pyroute2 refuses a thread with a running loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@dataclass
class Pod:
    netns: str
    ip: str
    node: str


@dataclass
class Fabric:
    topo: Topology
    pods: list[Pod] = field(default_factory=list)


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")


@pytest.fixture
def build_fabric() -> Iterator[Callable[..., Fabric]]:
    _need_root()
    made: list[Fabric] = []

    def build(backend: str = "vxlan", nodes: int = 2, mtu: int = 1500) -> Fabric:
        tag = "t" + secrets.token_hex(3)
        net = AddressPlan.parse(backend=backend, underlay_mtu=mtu)
        topo = plan_topology(nodes, net, cluster=tag, host_link=False,
                             underlay=ipaddress.IPv4Network("198.18.0.0/24"))
        fab = Fabric(topo)
        made.append(fab)
        blocking(setup_fabric, topo)
        for node in topo.nodes:
            blocking(setup_node, topo, node)
        return fab

    try:
        yield build
    finally:
        for fab in made:
            for pod in fab.pods:
                netns.delete_netns(pod.netns)
            teardown_topology(fab.topo.fabric_netns, [n.netns for n in fab.topo.nodes], "")


def make_pod(fab: Fabric, node_name: str, index: int) -> Pod:
    """A hand-made pod on ``node_name``: address .(10+index) of the node's subnet."""
    return blocking(_make_pod, fab, node_name, index)


def _make_pod(fab: Fabric, node_name: str, index: int) -> Pod:
    node = fab.topo.node(node_name)
    gw = pod_subnet(node).network_address + 1
    ip = pod_subnet(node).network_address + 10 + index
    pod_ns = f"{node.netns}-p{index}"
    path = netns.create_netns(pod_ns)
    pod = Pod(pod_ns, str(ip), node_name)
    fab.pods.append(pod)
    mtu = fab.topo.network.pod_mtu
    with Netlink.open(node.netns) as nl:
        bridge = nl.ensure_bridge(CNI_BRIDGE, mtu)
        nl.ensure_addr(bridge.index, ipaddress.IPv4Interface(f"{gw}/{pod_subnet(node).prefixlen}"))
        fd = netns.open_netns(path)
        try:
            veth = nl.add_veth(f"bthp{index}", "eth0", fd, mtu, master=bridge.index)
        finally:
            os.close(fd)
        nl.set_up(veth.index)
    with Netlink.open(path) as nl:
        nl.set_up(nl.require_link("lo").index)
        eth = nl.require_link("eth0")
        nl.ensure_addr(eth.index, ipaddress.IPv4Interface(f"{ip}/{pod_subnet(node).prefixlen}"))
        nl.set_up(eth.index)
        nl.replace_route(ipaddress.IPv4Network("0.0.0.0/0"), gw, eth.index)
    return pod


@pytest.fixture
async def live_api(tmp_path: Path) -> AsyncIterator[Client]:
    running = await start_server(ServerConfig(data_dir=tmp_path / "server", port=0))
    client = Client(load_config(str(running.kubeconfig), {}))
    try:
        yield client
    finally:
        await client.close()
        await running.stop()


async def register_nodes(client: Client, topo: Topology) -> None:
    assert NODES is not None
    for node in topo.nodes:
        await client.create(NODES, node_object(node.name, str(pod_subnet(node)),
                                               str(node.underlay_ip.ip)))


def node_object(name: str, cidr: str, ip: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}
