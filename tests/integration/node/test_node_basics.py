"""The node registers itself, heartbeats, and runs a one-container pod to Ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.api.errors import NotFound
from berth.api.resources import by_key
from berth.client import Client
from berth.host import netns
from berth.host.cgroups import existing_cgroup_dirs
from tests.integration.node.conftest import (
    PODS,
    Cluster,
    container,
    container_status,
    in_node_netns,
    is_ready,
    open_runtime,
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
        except NotFound:
            await asyncio.sleep(0.1)
    status = node["status"]
    assert status["capacity"]["pods"] == "110"
    assert status["allocatable"]["cpu"] == status["capacity"]["cpu"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True", "MemoryPressure": "False", "DiskPressure": "False",
        "PIDPressure": "False"}
    assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == cluster.port
    assert {"type": "InternalIP", "address": "127.0.0.1"} in status["addresses"]
    for _ in range(100):  # the first heartbeat follows registration
        try:
            lease = await api.get(LEASES, "kube-node-lease", cluster.node)
            break
        except NotFound:
            await asyncio.sleep(0.1)
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
    uid = running["metadata"]["uid"]
    ip_file = cluster.root / "cni" / "networks" / "berth" / status["podIP"]
    assert ip_file.exists()
    netns_name = f"berth-{cluster.node}-{uid.replace('-', '')[:12]}"
    assert netns.exists(netns_name)
    await api.delete(PODS, "default", "basic")
    await wait_gone(api, "basic")
    # nothing left: netns, IP reservation, cgroups, processes, mounts, state
    assert not netns.exists(netns_name)
    assert not ip_file.exists()
    # in every hierarchy, the hybrid layout's cgroup2 mount ("unified") included
    assert existing_cgroup_dirs(f"/berth/{cluster.node}/pod{uid}") == []
    assert not list(Path("/sys/fs/cgroup").glob(f"*/berth/{cluster.node}/pod{uid}"))
    assert not (cluster.root / "pods" / uid).exists()
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(cluster.root / "runtime" / "containers") not in mounts
    rt = open_runtime(cluster)
    assert await rt.list_pod_sandbox() == [] and await rt.list_containers() == []


def _ping_port(ip: str) -> bool:
    import socket

    try:
        with socket.create_connection((ip, 9), timeout=2):
            return True
    except ConnectionRefusedError:
        return False
