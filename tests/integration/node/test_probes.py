"""Probes on a real node: readiness drives Ready, liveness failure restarts the container."""

from __future__ import annotations

import pytest

from berth.client import Client
from tests.integration.node.conftest import (
    PODS,
    Cluster,
    container,
    container_status,
    is_ready,
    open_runtime,
    pod,
    wait_for,
    wait_gone,
)

pytestmark = [pytest.mark.root, pytest.mark.slow]


async def _exec(cluster: Cluster, uid: str, name: str, cmd: list[str]) -> None:
    from berth.node import labels
    from berth.node.runtime.protocol import ContainerFilter, ContainerState

    rt = open_runtime(cluster)
    for c in await rt.list_containers(ContainerFilter(label_selector={
            labels.POD_UID: uid, labels.CONTAINER_NAME: name})):
        if (await rt.container_status(c.id)).state == ContainerState.RUNNING:
            result = await rt.exec_sync(c.id, cmd, 5)
            assert result.exit_code == 0
            return
    raise AssertionError(f"{name} is not running")


async def test_readiness_and_liveness_probes(cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    fast = {"periodSeconds": 1, "failureThreshold": 1}
    web = container(
        "web", ["sh", "-c", "touch /tmp/alive; echo ok > /tmp/index.html; httpd -f -p 8080 -h /tmp"],
        ports=[{"name": "http", "containerPort": 8080}],
        readinessProbe={"exec": {"command": ["test", "-f", "/tmp/ready"]}, **fast},
        livenessProbe={"exec": {"command": ["test", "-f", "/tmp/alive"]}, **fast},
        startupProbe={"httpGet": {"path": "/index.html", "port": "http"}, **fast})
    tcp = container("tcp", ["sh", "-c", "sleep 1; exec httpd -f -p 9000 -h /tmp"],
                    readinessProbe={"tcpSocket": {"port": 9000}, **fast})
    await api.create(PODS, pod("probed", [web, tcp], cluster.node))
    started = await wait_for(api, "probed", lambda p: container_status(p, "tcp").get("ready")
                             and container_status(p, "web").get("started"))
    assert not is_ready(started)
    assert container_status(started, "web")["ready"] is False
    uid = started["metadata"]["uid"]

    await _exec(cluster, uid, "web", ["touch", "/tmp/ready"])
    ready = await wait_for(api, "probed", is_ready, timeout=10)
    assert container_status(ready, "web")["restartCount"] == 0

    await _exec(cluster, uid, "web", ["rm", "/tmp/alive"])
    restarted = await wait_for(api, "probed", lambda p: container_status(p, "web").get(
        "restartCount") == 1 and container_status(p, "web").get("started"), timeout=15)
    assert not container_status(restarted, "web")["ready"]  # /tmp/ready is gone with it
    await api.delete(PODS, "default", "probed")
    await wait_gone(api, "probed")
