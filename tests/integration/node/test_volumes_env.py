"""Volumes and env on a real node: configMap, secret, downwardAPI, readOnly, subPath,
a memory emptyDir; env from configMaps, secrets and field refs; per-pod /etc files."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from berth.api.resources import by_key
from berth.client import Client
from berth.host import netns
from berth.host.cgroups import existing_cgroup_dirs
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
    wait_for,
    wait_gone,
)

pytestmark = [pytest.mark.root, pytest.mark.slow]
CONFIGMAPS = by_key("configmaps")
SECRETS = by_key("secrets")


async def _exec(cluster: Cluster, uid: str, name: str, script: str) -> str:
    from berth.node import labels
    from berth.node.runtime.protocol import ContainerFilter

    rt = open_runtime(cluster)
    found = await rt.list_containers(ContainerFilter(label_selector={
        labels.POD_UID: uid, labels.CONTAINER_NAME: name}))
    result = await rt.exec_sync(found[-1].id, ["sh", "-c", script], 5)
    return (result.stdout + result.stderr).decode()


async def test_volumes_env_and_pod_files(cluster: Cluster, api: Client) -> None:
    assert PODS is not None and CONFIGMAPS is not None and SECRETS is not None
    await api.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "settings", "namespace": "default"},
                                  "data": {"mode": "fast", "app.conf": "port=80\n"}})
    await api.create(SECRETS, {"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": "creds", "namespace": "default"},
                               "data": {"password": base64.b64encode(b"s3cret").decode()}})
    mounts = [
        {"name": "cfg", "mountPath": "/etc/app"},
        {"name": "sec", "mountPath": "/secrets"},
        {"name": "info", "mountPath": "/info"},
        {"name": "scratch", "mountPath": "/scratch/a", "subPath": "a"},
        {"name": "scratch", "mountPath": "/scratch-ro", "readOnly": True},
        {"name": "ram", "mountPath": "/ram"},
    ]
    env = [
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                            "key": "password"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]
    volumes = [
        {"name": "cfg", "configMap": {"name": "settings"}},
        {"name": "sec", "secret": {"secretName": "creds"}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "ram", "emptyDir": {"medium": "Memory", "sizeLimit": "4Mi"}},
    ]
    limits = {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}}
    body = pod("vols", [container("main", ["sleep", "3600"], volumeMounts=mounts, env=env,
                                  resources=limits)],
               cluster.node, volumes=volumes, hostAliases=[
                   {"ip": "10.1.2.3", "hostnames": ["db.local"]}])
    await api.create(PODS, body)
    running = await wait_for(api, "vols", is_ready)
    uid, ip = running["metadata"]["uid"], running["status"]["podIP"]
    out = await _exec(cluster, uid, "main",
                      "echo $MODE $PASSWORD $POD_IP $NODE; cat /etc/app/app.conf "
                      "/secrets/password /info/name; echo; touch /scratch/a/x && "
                      "ls /scratch-ro/a; touch /scratch-ro/y 2>&1; touch /etc/app/z 2>&1;"
                      "df -k /ram | tail -1")
    lines = out.splitlines()
    assert lines[0] == f"fast s3cret {ip} {cluster.node}"
    assert lines[1:4] == ["port=80", "s3cretvols", "x"], out  # files, then subPath
    assert "Read-only file system" in out
    assert "4096" in lines[-1]  # the memory emptyDir is a 4 MiB tmpfs
    files = await _exec(cluster, uid, "main", "cat /etc/hostname /etc/hosts /etc/resolv.conf")
    assert files.startswith("vols\n")
    assert f"{ip}\tvols" in files or f"{ip} vols" in files
    assert "db.local" in files
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in files
    # cpu/memory limits reached the container's cgroup (v1 here)
    cid = container_status(running, "main")["containerID"].removeprefix("berth://")
    rel = f"berth/{cluster.node}/pod{uid}/{cid}"
    assert (Path("/sys/fs/cgroup/cpu") / rel / "cpu.cfs_quota_us").read_text() == "50000\n"
    assert (Path("/sys/fs/cgroup/cpu") / rel / "cpu.shares").read_text() == "256\n"
    assert (Path("/sys/fs/cgroup/memory") / rel / "memory.limit_in_bytes").read_text() \
        == f"{64 << 20}\n"
    assert running["status"]["qosClass"] == "Burstable"
    await api.delete(PODS, "default", "vols")
    await wait_gone(api, "vols")


async def test_missing_config_map_is_reported(cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    await api.create(PODS, pod("needs-cm", [container("main", ["true"])], cluster.node,
                               volumes=[{"name": "c", "configMap": {"name": "absent"}}]))
    got = await wait_for(api, "needs-cm", lambda p: container_status(p, "main").get(
        "state", {}).get("waiting", {}).get("reason") == "CreateContainerConfigError")
    assert 'configmap "absent" not found' in \
        container_status(got, "main")["state"]["waiting"]["message"]
    assert got["status"]["phase"] == "Pending"
    await api.delete(PODS, "default", "needs-cm")
    await wait_gone(api, "needs-cm")


async def test_host_network_pod_lives_in_the_node_namespace(cluster: Cluster,
                                                            api: Client) -> None:
    """hostNetwork: no netns or IP of its own; it serves on the node's loopback."""
    assert PODS is not None
    networks = cluster.root / "cni" / "networks"
    leases_before = sorted(networks.rglob("10.*"))
    script = "echo host-$(hostname) > /tmp/index.html; exec httpd -f -p 127.0.0.1:18080 -h /tmp"
    await api.create(PODS, pod("hostnet", [container("web", ["sh", "-c", script])],
                               cluster.node, hostNetwork=True))
    running = await wait_for(api, "hostnet", is_ready)
    status = running["status"]
    assert status["podIP"] == status["hostIP"] == "127.0.0.1"
    uid = running["metadata"]["uid"]
    assert not netns.exists(f"berth-{cluster.node}-{uid.replace('-', '')[:12]}")
    # the node namespace's own loopback reaches it (not the root namespace's)
    body = in_node_netns(cluster, lambda: http_get("127.0.0.1", 18080, "/index.html"))
    assert body.strip() == f"host-{cluster.node}"
    assert sorted(networks.rglob("10.*")) == leases_before  # no IP taken from the pod CIDR
    await api.delete(PODS, "default", "hostnet")
    await wait_gone(api, "hostnet")
    assert existing_cgroup_dirs(f"/berth/{cluster.node}/pod{uid}") == []
