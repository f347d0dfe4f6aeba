"""The scheduler in a real server: binding, PodScheduled, Unschedulable, retry on node changes."""

from __future__ import annotations

from typing import Any

from berth.controllers.objects import condition

Cluster = Any


async def test_pending_pods_are_bound_and_spread(cluster: Cluster) -> None:
    for name in ("n1", "n2"):
        await cluster.add_node(name)
    for i in range(4):
        await cluster.add_pod(f"p{i}", cpu="100m")

    async def all_bound() -> list[Any]:
        pods = await cluster.items(cluster.PODS, "default")
        nodes = [p["spec"].get("nodeName") for p in pods]
        assert all(nodes), nodes
        return pods

    pods = await cluster.eventually(all_bound)
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["n1", "n1", "n2", "n2"]

    async def reported() -> None:
        for pod in await cluster.items(cluster.PODS, "default"):
            cond = condition(pod, "PodScheduled")
            assert cond is not None and cond["status"] == "True"
        scheduled = await cluster.events("Scheduled")
        assert {e["involvedObject"]["name"] for e in scheduled} == {"p0", "p1", "p2", "p3"}
        p0 = next(p for p in pods if p["metadata"]["name"] == "p0")
        assert (f"Successfully assigned default/p0 to {p0['spec']['nodeName']}"
                in [e["message"] for e in scheduled])

    await cluster.eventually(reported)


async def test_unschedulable_pod_says_why_and_is_retried(cluster: Cluster) -> None:
    await cluster.add_node("small", cpu="1")
    await cluster.add_node("ssd", cpu="1", labels={"disk": "ssd"})
    await cluster.add_node("down", cpu="8", ready=False, labels={"disk": "ssd"})
    await cluster.add_pod("big", cpu="2", nodeSelector={"disk": "ssd"})

    async def unschedulable() -> None:
        pod = await cluster.get(cluster.PODS, "default", "big")
        cond = condition(pod, "PodScheduled")
        assert cond is not None and cond["status"] == "False"
        assert cond["reason"] == "Unschedulable"
        assert cond["message"] == (
            "0/3 nodes are available: 1 Insufficient cpu, "
            "1 node(s) didn't match Pod's node affinity/selector, "
            "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.")
        assert pod["status"]["phase"] == "Pending"
        assert not pod["spec"].get("nodeName")

    await cluster.eventually(unschedulable)

    async def one_event() -> None:
        failed = await cluster.events("FailedScheduling")
        assert len(failed) == 1 and failed[0]["type"] == "Warning"
        assert failed[0]["involvedObject"]["name"] == "big"
        assert failed[0]["message"].startswith("0/3 nodes are available: ")

    await cluster.eventually(one_event)

    await cluster.set_ready("down", True)

    async def bound() -> None:
        pod = await cluster.get(cluster.PODS, "default", "big")
        assert pod["spec"].get("nodeName") == "down"
        cond = condition(pod, "PodScheduled")
        assert cond is not None and cond["status"] == "True"

    await cluster.eventually(bound)


async def test_pods_with_node_name_or_other_scheduler_are_left_alone(cluster: Cluster) -> None:
    await cluster.add_node("n1")
    await cluster.add_pod("pinned", nodeName="elsewhere")
    await cluster.add_pod("custom", schedulerName="my-scheduler")
    await cluster.add_pod("normal")

    async def normal_bound() -> None:
        pod = await cluster.get(cluster.PODS, "default", "normal")
        assert pod["spec"].get("nodeName") == "n1"

    await cluster.eventually(normal_bound)
    assert (await cluster.get(cluster.PODS, "default", "pinned"))["spec"]["nodeName"] == "elsewhere"
    custom = await cluster.get(cluster.PODS, "default", "custom")
    assert not custom["spec"].get("nodeName")
    assert condition(custom, "PodScheduled") is None
