"""Logs and exec through the API server to the node endpoint: berth CLI and kubectl."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import aiohttp
import pytest

from berth.client import Client
from tests.integration.node.conftest import (
    BERTH,
    PODS,
    Cluster,
    container,
    container_status,
    is_ready,
    pod,
    wait_for,
    wait_gone,
)

pytestmark = [pytest.mark.root, pytest.mark.slow]
TALKER = "echo line-1; sleep 0.1; echo line-2 >&2; sleep 0.1; echo line-3; sleep 3600"


def berth(cluster: Cluster, *args: str, stdin: bytes | None = None
          ) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    return subprocess.run([BERTH, *args], input=stdin, capture_output=True, env=env,
                          timeout=30, check=False)


async def _run(cluster: Cluster, *args: str, stdin: bytes | None = None
               ) -> subprocess.CompletedProcess[bytes]:
    return await asyncio.to_thread(berth, cluster, *args, stdin=stdin)


async def test_logs_previous_tail_and_exec(cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    crasher = container("crasher", ["sh", "-c", "echo run-$(cat /proc/uptime | cut -d. -f1);"
                                    " sleep 0.5; exit 1"])
    await api.create(PODS, pod("talk", [container("talker", ["sh", "-c", TALKER]), crasher],
                               cluster.node))
    await wait_for(api, "talk", lambda p: container_status(p, "talker").get("started")
                   and container_status(p, "crasher").get("restartCount", 0) >= 1)

    logs = await _run(cluster, "logs", "talk", "-c", "talker")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.decode().split() == ["line-1", "line-2", "line-3"]
    tail = await _run(cluster, "logs", "talk", "-c", "talker", "--tail", "1")
    assert tail.stdout == b"line-3\n"
    previous = await _run(cluster, "logs", "talk", "-c", "crasher", "--previous")
    assert previous.returncode == 0 and previous.stdout.startswith(b"run-")
    missing = await _run(cluster, "logs", "talk", "-c", "nope")
    assert missing.returncode == 1 and b"nope" in missing.stderr

    done = await _run(cluster, "exec", "talk", "-c", "talker", "--", "sh", "-c",
                      "echo out; echo err >&2; exit 3")
    assert (done.returncode, done.stdout, done.stderr) == (3, b"out\n", b"err\n"), done.stderr
    piped = await _run(cluster, "exec", "-i", "talk", "-c", "talker", "--", "cat",
                       stdin=b"through stdin\n")
    assert (piped.returncode, piped.stdout) == (0, b"through stdin\n")
    await api.delete(PODS, "default", "talk")
    await wait_gone(api, "talk")


async def test_node_endpoint_refuses_other_credentials(cluster: Cluster, api: Client) -> None:
    url = f"https://127.0.0.1:{cluster.port}/containerLogs/default/x/y"
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer not-the-token"}):
            async with session.get(url, headers=headers, ssl=False) as resp:
                assert resp.status == 401
                assert (await resp.json())["reason"] == "Unauthorized"


@pytest.mark.kubectl
async def test_kubectl_logs_and_exec(cluster: Cluster, api: Client) -> None:
    assert PODS is not None and shutil.which("kubectl")
    await api.create(PODS, pod("kube", [container("main", ["sh", "-c", TALKER])],
                               cluster.node))
    await wait_for(api, "kube", is_ready)
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}

    def kubectl(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["kubectl", *args], capture_output=True, env=env, timeout=60,
                              check=False)

    for _ in range(25):  # the container writes its three lines within ~0.2 s of starting
        logs = await asyncio.to_thread(kubectl, "logs", "kube")
        assert logs.returncode == 0, logs.stderr
        if b"line-3" in logs.stdout:
            break
        await asyncio.sleep(0.2)
    assert logs.stdout.decode().split() == ["line-1", "line-2", "line-3"]
    out = await asyncio.to_thread(kubectl, "exec", "kube", "--", "sh", "-c",
                                  "echo $HOSTNAME; exit 2")
    assert out.stdout == b"kube\n"
    assert out.returncode == 2
    await api.delete(PODS, "default", "kube")
    await wait_gone(api, "kube")


async def test_logs_follow_streams_until_the_container_ends(cluster: Cluster, api: Client
                                                            ) -> None:
    assert PODS is not None
    counter = "for i in 1 2 3 4; do echo n$i; sleep 0.4; done"
    await api.create(PODS, pod("count", [container("main", ["sh", "-c", counter])],
                               cluster.node, restartPolicy="Never"))
    await wait_for(api, "count", lambda p: container_status(p, "main").get("started"))
    followed = await _run(cluster, "logs", "-f", "count")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout.split() == [b"n1", b"n2", b"n3", b"n4"]
    await api.delete(PODS, "default", "count")
    await wait_gone(api, "count")


async def test_a_big_log_is_rotated_and_logs_show_the_current_file(
        cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    writer = ("i=0; while [ $i -lt 200 ]; do echo line-$i-$(printf '%080d' 0); i=$((i+1)); "
              "done; echo after-rotation-marker-wait; sleep 2; echo last-line; sleep 3600")
    await api.create(PODS, pod("chatty", [container("main", ["sh", "-c", writer])],
                               cluster.node))
    ready = await wait_for(api, "chatty", is_ready)
    for _ in range(40):
        logs = await _run(cluster, "logs", "chatty")
        if b"last-line" in logs.stdout:
            break
        await asyncio.sleep(0.25)
    log_dir = (cluster.root / "logs" /
               f"default_chatty_{ready['metadata']['uid']}" / "main")
    assert (log_dir / "0.log.1").exists()
    assert (log_dir / "0.log").stat().st_size < 8192 + 200
    assert b"line-0-" not in logs.stdout and logs.stdout.endswith(b"last-line\n")
    await api.delete(PODS, "default", "chatty")
    await wait_gone(api, "chatty")
