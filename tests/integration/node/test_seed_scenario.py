"""The seed's scenario: an HTTP app and its sidecar share localhost and a volume.

Each pod's app container serves a shared emptyDir with busybox httpd on port
80; its sidecar writes the page into the volume and fetches it back over
localhost:80.  Two such pods on one node both bind port 80, each on its own
IP.  Killing the app's process restarts it in the same sandbox with the same
IP; deleting and recreating the pod gives a new sandbox.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from berth.client import Client
from tests.integration.node.conftest import (
    PODS,
    Cluster,
    container,
    container_pid,
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

SIDECAR = ("echo hello from $POD_NAME > /shared/index.html; "
           "while true; do wget -q -O /shared/seen.html http://localhost:80/index.html; "
           "sleep 0.5; done")


def web_pod(name: str, node: str) -> dict[str, object]:
    mount = [{"name": "shared", "mountPath": "/shared"}]
    app = container("app", ["httpd", "-f", "-p", "80", "-h", "/shared"], volumeMounts=mount)
    helper = container("sidecar", ["sh", "-c", SIDECAR], volumeMounts=mount, env=[
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}])
    return pod(name, [app, helper], node, volumes=[{"name": "shared", "emptyDir": {}}])


async def test_two_web_pods_bind_port_80_each_with_its_own_ip(cluster: Cluster,
                                                               api: Client) -> None:
    assert PODS is not None
    for name in ("web-a", "web-b"):
        await api.create(PODS, web_pod(name, cluster.node))
    pods = [await wait_for(api, name, is_ready) for name in ("web-a", "web-b")]
    ips = [p["status"]["podIP"] for p in pods]
    assert ips[0] != ips[1]
    for name, ip in zip(("web-a", "web-b"), ips, strict=True):
        assert in_node_netns(cluster, lambda ip=ip: http_get(ip)) == f"hello from {name}\n"
        # the sidecar fetched the page over the pod's localhost and stored it in the volume
        for _ in range(20):
            seen = in_node_netns(cluster, lambda ip=ip: http_get(ip, path="/seen.html"))
            if seen.startswith("hello"):
                break
            await asyncio.sleep(0.25)
        assert seen == f"hello from {name}\n"

    # kill the app's process: same sandbox, same IP, restartCount 1
    uid = pods[0]["metadata"]["uid"]
    before = await sandbox_ids(cluster, uid)
    os.kill(await container_pid(cluster, uid, "app"), signal.SIGKILL)
    restarted = await wait_for(api, "web-a", lambda p: container_status(p, "app").get(
        "restartCount") == 1 and is_ready(p))
    assert restarted["status"]["podIP"] == ips[0]
    assert await sandbox_ids(cluster, uid) == before
    app = container_status(restarted, "app")
    assert app["lastState"]["terminated"]["exitCode"] == 137
    assert in_node_netns(cluster, lambda: http_get(ips[0])) == "hello from web-a\n"

    # delete and recreate: a new pod uid, a new sandbox
    await api.delete(PODS, "default", "web-a")
    await wait_gone(api, "web-a")
    assert await sandbox_ids(cluster, uid) == []
    await api.create(PODS, web_pod("web-a", cluster.node))
    again = await wait_for(api, "web-a", is_ready)
    assert again["metadata"]["uid"] != uid
    new_sandboxes = await sandbox_ids(cluster, again["metadata"]["uid"])
    assert len(new_sandboxes) == 1 and new_sandboxes != before
    for name in ("web-a", "web-b"):
        await api.delete(PODS, "default", name)
    for name in ("web-a", "web-b"):
        await wait_gone(api, name)


async def test_a_dead_sandbox_is_replaced_and_containers_restart_in_it(
        cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    await api.create(PODS, pod("phoenix", [container("main", ["sleep", "3600"])], cluster.node))
    first = await wait_for(api, "phoenix", is_ready)
    uid = first["metadata"]["uid"]
    [old] = await sandbox_ids(cluster, uid)
    pause = (await open_runtime(cluster).pod_sandbox_status(old)).pid
    os.kill(pause, signal.SIGKILL)
    again = await wait_for(api, "phoenix", lambda p: is_ready(p) and container_status(
        p, "main").get("restartCount") == 1)
    assert await sandbox_ids(cluster, uid) not in ([], [old])
    assert again["status"]["podIP"]
    await api.delete(PODS, "default", "phoenix")
    await wait_gone(api, "phoenix")
