"""The DaemonSet controller in a real server: placement, node changes, status, rollout."""

from __future__ import annotations

from typing import Any

Cluster = Any
Obj = dict[str, Any]


def daemonset(image: str = "agent:1") -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "logs", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "logs"}},
                     "template": {"metadata": {"labels": {"app": "logs"}},
                                  "spec": {"nodeSelector": {"role": "worker"},
                                           "containers": [{"name": "a", "image": image}]}}}}


async def live_pods(cluster: Cluster) -> dict[str, Obj]:
    """The daemon pods not being deleted, by node."""
    pods = await cluster.items(cluster.PODS, "default", label_selector="app=logs")
    return {p["spec"]["nodeName"]: p for p in pods
            if not p["metadata"].get("deletionTimestamp")}


async def act_as_node_agents(cluster: Cluster) -> None:
    """Finish deletions and report new pods running and ready, as node agents would."""
    pods = await cluster.items(cluster.PODS, "default", label_selector="app=logs")
    for i, pod in enumerate(pods):
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            await cluster.client.delete(cluster.PODS, "default", meta["name"], grace_period=0)
        elif (pod.get("status") or {}).get("phase") != "Running":
            await cluster.run_pod("default", meta["name"], f"10.244.0.{10 + i}")


async def test_one_pod_per_matching_node_following_node_changes(cluster: Cluster) -> None:
    await cluster.add_node("w1", labels={"role": "worker"})
    await cluster.add_node("w2", labels={"role": "worker"})
    await cluster.add_node("other")
    ds = await cluster.client.create(cluster.DAEMONSETS, daemonset())

    async def on(nodes: set[str]) -> dict[str, Obj]:
        pods = await live_pods(cluster)
        assert set(pods) == nodes
        return pods

    pods = await cluster.eventually(lambda: on({"w1", "w2"}))
    ref = pods["w1"]["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == (
        "DaemonSet", "logs", ds["metadata"]["uid"], True)
    assert pods["w1"]["metadata"]["name"].startswith("logs-")

    await cluster.add_node("w3", labels={"role": "worker"})
    await cluster.eventually(lambda: on({"w1", "w2", "w3"}))
    await cluster.client.patch(cluster.NODES, None, "w1",
                               {"metadata": {"labels": {"role": None}}}, patch_type="merge")
    await cluster.eventually(lambda: on({"w2", "w3"}))
    await cluster.client.delete(cluster.NODES, None, "w2")
    await cluster.eventually(lambda: on({"w3"}))

    await act_as_node_agents(cluster)

    async def status() -> None:
        got = (await cluster.get(cluster.DAEMONSETS, "default", "logs"))["status"]
        assert got["desiredNumberScheduled"] == 1
        assert got["currentNumberScheduled"] == 1
        assert got["numberReady"] == 1
        assert got["numberAvailable"] == 1
        assert got["updatedNumberScheduled"] == 1
        assert got["observedGeneration"] == 1

    await cluster.eventually(status)


async def test_template_change_rolls_out_and_delete_removes_pods(cluster: Cluster) -> None:
    for name in ("w1", "w2", "w3"):
        await cluster.add_node(name, labels={"role": "worker"})
    await cluster.client.create(cluster.DAEMONSETS, daemonset("agent:1"))

    async def ready_everywhere(image: str) -> None:
        await act_as_node_agents(cluster)
        pods = await live_pods(cluster)
        assert set(pods) == {"w1", "w2", "w3"}
        assert {p["spec"]["containers"][0]["image"] for p in pods.values()} == {image}
        assert all(p["status"].get("phase") == "Running" for p in pods.values())

    await cluster.eventually(lambda: ready_everywhere("agent:1"))
    await cluster.client.patch(cluster.DAEMONSETS, "default", "logs", {"spec": {"template": {
        "spec": {"containers": [{"name": "a", "image": "agent:2"}]}}}})
    most_unavailable = 0

    async def rolled() -> None:
        nonlocal most_unavailable
        pods = await cluster.items(cluster.PODS, "default", label_selector="app=logs")
        running = [p for p in pods if not p["metadata"].get("deletionTimestamp")
                   and p["status"].get("phase") == "Running"]
        most_unavailable = max(most_unavailable, 3 - len(running))
        await ready_everywhere("agent:2")

    await cluster.eventually(rolled, timeout=10)
    assert most_unavailable <= 1

    async def observed() -> None:
        status = (await cluster.get(cluster.DAEMONSETS, "default", "logs"))["status"]
        assert status["observedGeneration"] == 2
        assert status["updatedNumberScheduled"] == 3
        assert status["numberAvailable"] == 3

    await cluster.eventually(observed)

    await cluster.client.delete(cluster.DAEMONSETS, "default", "logs")

    async def gone() -> None:
        assert await live_pods(cluster) == {}

    await cluster.eventually(gone)
