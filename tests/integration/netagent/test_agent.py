"""The network agent on the real kernel: pods on different node namespaces talk, no NAT.

Each test builds a fabric of node namespaces, hand-made pods on the nodes'
bridges, a real API server with one Node per node, and one ``NetworkAgent``
per node programming its namespace; then it checks what a user would: ICMP
and TCP between pods across nodes, the source address a pod sees, routes of
departed nodes gone, a restarted agent changing nothing, the subnet file,
the conflist and the Node's NetworkUnavailable condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from berth.client import Client
from berth.cluster import probe
from berth.host.fabric import Fabric as FabricNL
from berth.host.fabric import VxlanParams
from berth.host.netlink import Link
from berth.netagent.agent import NetworkAgent
from berth.netagent.config import VXLAN_DEVICE, AgentConfig
from berth.netagent.plan import ANNOTATION_VTEP_MAC

from .conftest import NODES, Fabric, blocking, make_pod, node_object, pod_subnet, register_nodes

pytestmark = pytest.mark.root


class Agents:
    def __init__(self, fab: Fabric, client: Client, tmp: Path) -> None:
        self.fab, self.client, self.tmp = fab, client, tmp
        self.agents: dict[str, NetworkAgent] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def config(self, name: str) -> AgentConfig:
        node = self.fab.topo.node(name)
        return AgentConfig(node_name=name, cluster=self.fab.topo.network,
                           public_ip=node.underlay_ip.ip, underlay_device="bthu0",
                           netns=node.netns, subnet_file=self.tmp / name / "subnet.env",
                           cni_conf_dir=self.tmp / name / "net.d", resync_seconds=0.5)

    def start(self, name: str) -> NetworkAgent:
        agent = NetworkAgent(self.config(name), self.client)
        self.agents[name] = agent
        self.tasks[name] = asyncio.create_task(agent.run())
        return agent

    async def stop(self, name: str) -> None:
        task = self.tasks.pop(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def stop_all(self) -> None:
        for name in list(self.tasks):
            await self.stop(name)


@pytest.fixture
async def agents(live_api: Client, tmp_path: Path) -> AsyncIterator[Callable[[Fabric], Agents]]:
    made: list[Agents] = []

    def make(fab: Fabric) -> Agents:
        made.append(Agents(fab, live_api, tmp_path))
        return made[-1]

    try:
        yield make
    finally:
        for a in made:
            await a.stop_all()


async def wait_ping(src: str, dst: str, timeout: float = 10.0) -> bool:
    return await asyncio.to_thread(probe.wait_ping, src, dst, timeout)


def owned_dsts(node_ns: str) -> set[str]:
    def read() -> set[str]:
        with FabricNL.open(node_ns) as nl:
            return {str(r.dst) for r in nl.owned_routes()}
    return blocking(read)


@pytest.mark.parametrize("backend", ["vxlan", "host-gw"])
async def test_pods_reach_each_other_across_nodes_with_their_own_source_ip(
        backend: str, build_fabric: Callable[..., Fabric], live_api: Client,
        agents: Callable[[Fabric], Agents]) -> None:
    fab = build_fabric(backend, nodes=3)
    pods = [make_pod(fab, n.name, i) for n in fab.topo.nodes for i in (1, 2)]
    await register_nodes(live_api, fab.topo)
    group = agents(fab)
    for node in fab.topo.nodes:
        group.start(node.name)
    for src in pods:
        for dst in pods:
            if src is not dst:
                assert await wait_ping(src.netns, dst.ip), f"{src.ip} cannot reach {dst.ip}"
    a, b = pods[0], pods[-1]
    assert a.node != b.node
    seen = await asyncio.to_thread(probe.tcp_source_seen, b.netns, b.ip, a.netns)
    assert seen == a.ip  # no NAT between pods


async def test_vxlan_device_follows_the_issue(build_fabric: Callable[..., Fabric],
                                              live_api: Client,
                                              agents: Callable[[Fabric], Agents]) -> None:
    fab = build_fabric("vxlan", nodes=2)
    await register_nodes(live_api, fab.topo)
    group = agents(fab)
    first = group.start(fab.topo.nodes[0].name)
    group.start(fab.topo.nodes[1].name)
    await asyncio.wait_for(first.reconciled.wait(), 10)
    def read() -> tuple[Link, VxlanParams | None]:
        with FabricNL.open(fab.topo.nodes[0].netns) as nl:
            return nl.require_link(VXLAN_DEVICE), nl.vxlan_params(VXLAN_DEVICE)
    link, params = blocking(read)
    assert link.mtu == 1450 and params is not None
    assert (params.vni, params.port, params.learning) == (1, 8472, False)
    assert NODES is not None
    node = await live_api.get(NODES, None, fab.topo.nodes[0].name)
    assert node["metadata"]["annotations"][ANNOTATION_VTEP_MAC] == link.mac
    conds = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conds["NetworkUnavailable"] == "False"
    env = (group.tmp / fab.topo.nodes[0].name / "subnet.env").read_text()
    assert "BERTH_SUBNET=10.244.0.1/24" in env and "BERTH_MTU=1450" in env
    conflist = json.loads((group.tmp / fab.topo.nodes[0].name / "net.d" /
                           "10-berth.conflist").read_text())
    assert conflist["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "10.244.0.0/24"}]]


@pytest.mark.parametrize("backend", ["vxlan", "host-gw"])
async def test_departed_node_leaves_no_trace_and_a_joining_one_is_routed(
        backend: str, build_fabric: Callable[..., Fabric], live_api: Client,
        agents: Callable[[Fabric], Agents]) -> None:
    fab = build_fabric(backend, nodes=3)
    n1, _, n3 = fab.topo.nodes
    await register_nodes(live_api, fab.topo)
    group = agents(fab)
    for node in fab.topo.nodes:
        group.start(node.name)
    p1, p3 = make_pod(fab, n1.name, 1), make_pod(fab, n3.name, 1)
    assert await wait_ping(p1.netns, p3.ip)
    assert NODES is not None
    await group.stop(n3.name)
    await live_api.delete(NODES, None, n3.name)
    for _ in range(50):
        if str(pod_subnet(n3)) not in owned_dsts(n1.netns):
            break
        await asyncio.sleep(0.1)
    assert str(pod_subnet(n3)) not in owned_dsts(n1.netns)
    if backend == "vxlan":
        def read() -> tuple[set[str], set[str]]:
            with FabricNL.open(n1.netns) as nl:
                vx = nl.require_link(VXLAN_DEVICE)
                return ({str(ip) for ip in nl.neighbours(vx.index)},
                        {str(ip) for ip in nl.fdb(vx.index).values()})
        neighbours, remotes = blocking(read)
        assert str(pod_subnet(n3).network_address) not in neighbours
        assert str(n3.underlay_ip.ip) not in remotes
    # It joins again: routed again.
    await live_api.create(NODES, node_object(n3.name, str(pod_subnet(n3)), str(n3.underlay_ip.ip)))
    group.start(n3.name)
    assert await wait_ping(p1.netns, p3.ip)


async def test_agent_restart_changes_nothing_and_resync_repairs(
        build_fabric: Callable[..., Fabric], live_api: Client,
        agents: Callable[[Fabric], Agents]) -> None:
    fab = build_fabric("vxlan", nodes=2)
    n1, n2 = fab.topo.nodes
    await register_nodes(live_api, fab.topo)
    group = agents(fab)
    group.start(n1.name)
    group.start(n2.name)
    p1, p2 = make_pod(fab, n1.name, 1), make_pod(fab, n2.name, 1)
    assert await wait_ping(p1.netns, p2.ip)
    await group.stop(n1.name)
    assert await wait_ping(p1.netns, p2.ip, 1.0)  # no agent: traffic goes on
    again = group.start(n1.name)
    await asyncio.wait_for(again.reconciled.wait(), 10)
    assert again.last_changes is not None and again.last_changes.empty
    # Someone removes a route: the periodic resync puts it back.
    def remove() -> None:
        with FabricNL.open(n1.netns) as nl:
            route = next(r for r in nl.owned_routes() if r.dst == pod_subnet(n2))
            nl.delete_owned_route(route)
    blocking(remove)
    assert await wait_ping(p1.netns, p2.ip, 5.0)
    assert str(pod_subnet(n2)) in owned_dsts(n1.netns)
