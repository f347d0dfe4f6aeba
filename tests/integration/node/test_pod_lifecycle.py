"""Kubelet semantics on a real node: init order, sidecar start/stop order, restart
policies, OOMKilled, bad input reported in status without leftovers."""

from __future__ import annotations

import pytest

from berth.api.errors import Invalid
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


def step(name: str, log: str) -> str:
    """A long-running container that records its start and its SIGTERM in ``log``."""
    return (f"trap 'echo stop-{name} >> {log}; exit 0' TERM; echo start-{name} >> {log}; "
            "while true; do sleep 0.1; done")


async def test_init_containers_then_sidecars_then_app_and_reverse_stop(
        cluster: Cluster, api: Client, tmp_path: object) -> None:
    assert PODS is not None
    log = "/order/log"
    mount = [{"name": "order", "mountPath": "/order"}]
    host_dir = f"{tmp_path}/order"
    inits = [
        container("init-a", ["sh", "-c", f"echo init-a >> {log}"], volumeMounts=mount),
        container("side-1", ["sh", "-c", step("side-1", log)], volumeMounts=mount,
                  restartPolicy="Always"),
        container("side-2", ["sh", "-c", step("side-2", log)], volumeMounts=mount,
                  restartPolicy="Always"),
        container("init-b", ["sh", "-c", f"sleep 0.3; echo init-b >> {log}"],
                  volumeMounts=mount),
    ]
    pre_stop = {"preStop": {"exec": {"command": ["sh", "-c", f"echo prestop-app >> {log}"]}}}
    body = pod("ordered", [container("app", ["sh", "-c", step("app", log)],
                                     volumeMounts=mount, lifecycle=pre_stop)], cluster.node,
               initContainers=inits, volumes=[{"name": "order", "hostPath": {
                   "path": host_dir, "type": "DirectoryOrCreate"}}])
    await api.create(PODS, body)
    ready = await wait_for(api, "ordered", is_ready)
    inits_status = {s["name"]: s for s in ready["status"]["initContainerStatuses"]}
    assert inits_status["init-a"]["state"]["terminated"]["reason"] == "Completed"
    assert "running" in inits_status["side-1"]["state"]
    conds = {c["type"]: c["status"] for c in ready["status"]["conditions"]}
    assert conds["Initialized"] == "True"
    await api.delete(PODS, "default", "ordered")
    await wait_gone(api, "ordered")
    with open(f"{host_dir}/log") as f:
        lines = f.read().split()
    assert lines == ["init-a", "start-side-1", "start-side-2", "init-b", "start-app",
                     "prestop-app", "stop-app", "stop-side-2", "stop-side-1"]


async def test_restart_policies_and_terminal_phases(cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    await api.create(PODS, pod("done-ok", [container("main", ["true"])], cluster.node,
                               restartPolicy="Never"))
    await api.create(PODS, pod("done-bad", [container("main", ["sh", "-c", "exit 3"])],
                               cluster.node, restartPolicy="OnFailure"))
    ok = await wait_for(api, "done-ok", lambda p: p["status"]["phase"] == "Succeeded")
    term = container_status(ok, "main")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    bad = await wait_for(api, "done-bad", lambda p: container_status(p, "main").get(
        "state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff")
    status = container_status(bad, "main")
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert "back-off 10s restarting failed container=main" in status["state"]["waiting"][
        "message"]
    assert bad["status"]["phase"] == "Running"
    for name in ("done-ok", "done-bad"):
        await api.delete(PODS, "default", name)
        await wait_gone(api, name)


async def test_memory_limit_ends_oomkilled(cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    hog = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"
    limits = {"limits": {"memory": "16Mi", "cpu": "500m"}}
    await api.create(PODS, pod("hog", [container("hog", ["sh", "-c", hog], resources=limits)],
                               cluster.node, restartPolicy="Never"))
    done = await wait_for(api, "hog", lambda p: p["status"]["phase"] == "Failed", timeout=40)
    term = container_status(done, "hog")["state"]["terminated"]
    assert (term["reason"], term["exitCode"]) == ("OOMKilled", 137)
    assert done["status"]["qosClass"] == "Guaranteed"
    await api.delete(PODS, "default", "hog")
    await wait_gone(api, "hog")


async def test_bad_input_is_reported_and_leaves_nothing_half_created(
        cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    await api.create(PODS, pod("good", [container("main", ["sleep", "3600"])], cluster.node))
    await api.create(PODS, pod("no-image", [container("main", ["true"], image="nosuch:1.0")],
                               cluster.node))
    await api.create(PODS, pod("no-cmd", [container("main", ["/no/such/binary"])],
                               cluster.node))
    with pytest.raises(Invalid) as invalid:
        await api.create(PODS, pod("no-vol", [container("main", ["true"], volumeMounts=[
            {"name": "missing", "mountPath": "/x"}])], cluster.node))
    assert "missing" in str(invalid.value)

    missing = await wait_for(api, "no-image", lambda p: container_status(p, "main").get(
        "state", {}).get("waiting", {}).get("reason") in ("ErrImagePull", "ImagePullBackOff"))
    assert "nosuch" in container_status(missing, "main")["state"]["waiting"]["message"]
    nocmd = await wait_for(api, "no-cmd", lambda p: container_status(p, "main").get(
        "state", {}).get("waiting", {}).get("reason") in ("CreateContainerError",
                                                          "RunContainerError"))
    assert "/no/such/binary" in container_status(nocmd, "main")["state"]["waiting"]["message"]
    assert nocmd["status"]["phase"] == "Pending"
    assert is_ready(await wait_for(api, "good", is_ready))

    rt = open_runtime(cluster)
    for broken in (missing, nocmd):
        from berth.node import labels
        from berth.node.runtime.protocol import ContainerFilter

        left = await rt.list_containers(ContainerFilter(
            label_selector={labels.POD_UID: broken["metadata"]["uid"]}))
        assert left == []
    for name in ("good", "no-image", "no-cmd"):
        await api.delete(PODS, "default", name)
    for name in ("good", "no-image", "no-cmd"):
        await wait_gone(api, name)
