"""The node registers itself, heartbeats, and runs a one-container pod to Ready."""

from __future__ import annotations

import pytest

from berth.api.resources import by_key
from berth.client import Client
from tests.integration.node.conftest import (
    PODS,
    Cluster,
    container,
    container_status,
    in_node_netns,
    is_ready,
    pod,
    wait_for,
    wait_gone,
)

pytestmark = pytest.mark.root
NODES = by_key("nodes")
LEASES = by_key("leases.coordination.k8s.io")


async def test_node_registers_with_capacity_conditions_and_lease(cluster: Cluster,
                                                                 api: Client) -> None:
    assert NODES is not None and LEASES is not None
    import asyncio

    for _ in range(100):
        try:
            node = await api.get(NODES, None, cluster.node)
            break
        except Exception:  # noqa: BLE001
            await asyncio.sleep(0.1)
    status = node["status"]
    assert status["capacity"]["pods"] == "110"
    assert status["allocatable"]["cpu"] == status["capacity"]["cpu"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True", "MemoryPressure": "False", "DiskPressure": "False",
        "PIDPressure": "False"}
    assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == cluster.port
    assert {"type": "InternalIP", "address": "127.0.0.1"} in status["addresses"]
    lease = await api.get(LEASES, "kube-node-lease", cluster.node)
    assert lease["spec"]["holderIdentity"] == cluster.node


async def test_pod_runs_gets_an_ip_and_is_removed_on_delete(cluster: Cluster,
                                                            api: Client) -> None:
    assert PODS is not None
    await api.create(PODS, pod("basic", [container("main", ["sleep", "3600"])], cluster.node))
    running = await wait_for(api, "basic", is_ready)
    status = running["status"]
    assert status["phase"] == "Running"
    assert status["podIP"].startswith("10.244.0.")
    assert status["qosClass"] == "BestEffort"
    assert container_status(running, "main")["state"].get("running")
    link = in_node_netns(cluster, lambda: _ping_port(status["podIP"]))
    assert link is False  # nothing listens, but the IP answers with a RST (reachable)
    await api.delete(PODS, "default", "basic")
    await wait_gone(api, "basic")


def _ping_port(ip: str) -> bool:
    import socket

    try:
        with socket.create_connection((ip, 9), timeout=2):
            return True
    except ConnectionRefusedError:
        return False
