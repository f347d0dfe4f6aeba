"""Static pods from --pod-manifest-path: run by the agent, mirrored in the API server."""

from __future__ import annotations

import asyncio

import pytest

from berth.client import Client
from tests.integration.node.conftest import (
    Cluster,
    http_get,
    in_node_netns,
    is_ready,
    sandbox_ids,
    wait_for,
    wait_gone,
)

pytestmark = [pytest.mark.root, pytest.mark.slow]

MANIFEST = """\
apiVersion: v1
kind: Pod
metadata:
  name: static-web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox
    command: ["sh", "-c", "echo static > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]
"""


async def test_static_pod_runs_with_a_mirror_pod_and_stops_when_its_file_goes(
        cluster: Cluster, api: Client) -> None:
    (cluster.manifests / "broken.yaml").write_text("kind: Pod\nspec: [\n")
    path = cluster.manifests / "web.yaml"
    (cluster.manifests / ".web.tmp").write_text(MANIFEST)
    (cluster.manifests / ".web.tmp").rename(path)
    name = f"static-web-{cluster.node}"
    mirror = await wait_for(api, name, is_ready, timeout=30)
    annotations = mirror["metadata"]["annotations"]
    assert "kubernetes.io/config.mirror" in annotations
    ip = mirror["status"]["podIP"]
    assert in_node_netns(cluster, lambda: http_get(ip)) == "static\n"
    uid = mirror["metadata"]["uid"]  # the mirror's own uid; the static pod's is its hash

    path.unlink()
    for _ in range(50):
        try:
            in_node_netns(cluster, lambda: http_get(ip, timeout=0.5))
        except OSError:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the static pod still serves after its file was removed")
    await wait_gone(api, name)  # the mirror pod goes with it
    assert uid and await sandbox_ids(cluster, uid) == []
    (cluster.manifests / "broken.yaml").unlink()
    assert "broken.yaml" in cluster.agent_log()
