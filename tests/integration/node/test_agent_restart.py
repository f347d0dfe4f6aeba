"""SIGKILL of the node agent leaves pods running; a new agent adopts them.

The restarted agent finds the pods through the runtime's labels and state
files: same containers (no duplicates), same IPs, restartCount unchanged,
status still Ready; a pod deleted while the agent was down is cleaned up.
"""

from __future__ import annotations

import asyncio

import pytest

from berth.client import Client
from tests.integration.node.conftest import (
    PODS,
    Cluster,
    container,
    container_status,
    http_get,
    in_node_netns,
    is_ready,
    open_runtime,
    pod,
    sandbox_ids,
    wait_for,
    wait_gone,
)

pytestmark = [pytest.mark.root, pytest.mark.slow]


async def test_sigkill_and_restart_keeps_pods_and_ips(cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    web = container("web", ["sh", "-c", "echo $HOSTNAME > /tmp/i; httpd -f -p 80 -h /tmp"])
    await api.create(PODS, pod("keep", [web], cluster.node))
    await api.create(PODS, pod("drop", [container("main", ["sleep", "3600"])], cluster.node))
    before = await wait_for(api, "keep", is_ready)
    await wait_for(api, "drop", is_ready)
    ip = before["status"]["podIP"]
    cid = container_status(before, "web")["containerID"]
    uid = before["metadata"]["uid"]
    sandboxes = await sandbox_ids(cluster, uid)

    cluster.kill_agent()
    assert in_node_netns(cluster, lambda: http_get(ip, path="/i")) == "keep\n"
    await api.delete(PODS, "default", "drop")  # marked only: nobody confirms it yet
    cluster.start_agent()

    await wait_gone(api, "drop")
    await asyncio.sleep(2.5)  # several sync ticks of the new agent
    after = await wait_for(api, "keep", is_ready)
    assert after["status"]["podIP"] == ip
    status = container_status(after, "web")
    assert (status["containerID"], status["restartCount"]) == (cid, 0)
    assert await sandbox_ids(cluster, uid) == sandboxes
    containers = await open_runtime(cluster).list_containers()
    assert [c.metadata.name for c in containers] == ["web"]
    assert in_node_netns(cluster, lambda: http_get(ip, path="/i")) == "keep\n"
    await api.delete(PODS, "default", "keep")
    await wait_gone(api, "keep")
