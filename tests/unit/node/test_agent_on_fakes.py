"""The node agent's pod bookkeeping on fakes: workers per pod, removals, orphans, deletion.

A real `NodeAgent` over `FakeNode`'s context (fake runtime, recording client,
simulated time): what it runs is seen in the runtime and in the statuses
its workers report, with no method of the agent replaced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from berth.node import labels
from berth.node.agent import NodeAgent
from berth.node.runtime.protocol import PodSandboxConfig, PodSandboxMetadata
from berth.testing import looptime
from berth.testing.fakes.node import FakeNode, make_container, make_pod
from berth.testing.looptime import VirtualTimeLoop

Obj = dict[str, Any]


def on_agent(tmp_path: Path, scenario: Callable[[FakeNode, NodeAgent], Awaitable[None]]
             ) -> None:
    async def main(loop: VirtualTimeLoop) -> None:
        node = FakeNode(loop, tmp_path)
        agent = NodeAgent(node.ctx, port=10250)
        node.adopt(agent.workers)
        try:
            await scenario(node, agent)
        finally:
            await node.close()

    looptime.run(main)


def sleeper(name: str, **meta: Any) -> Obj:
    pod = make_pod(name, [make_container("app", ["sleep", "10000"])])
    pod["metadata"].update(meta)
    return pod


def running_names(node: FakeNode) -> set[str]:
    return {s.config.metadata.name for s in node.runtime.sandboxes.values() if s.ready}


def test_a_list_starts_one_worker_per_pod_and_a_later_list_stops_the_missing(
        tmp_path: Path) -> None:
    async def scenario(node: FakeNode, agent: NodeAgent) -> None:
        a, b = node.admit(sleeper("a")), node.admit(sleeper("b"))
        agent.reconcile([a, b])
        await node.wait_for("a", lambda s: s["phase"] == "Running")
        await node.wait_for("b", lambda s: s["phase"] == "Running")
        assert set(agent.workers) == {a["metadata"]["uid"], b["metadata"]["uid"]}
        agent.reconcile([a])  # b was deleted while the watch was down
        await agent.workers[b["metadata"]["uid"]].done.wait()
        assert running_names(node) == {"a"}
        assert node.client.deleted == [], "a pod gone from the API is not deleted again"

    on_agent(tmp_path, scenario)


def test_mirror_pods_are_not_run(tmp_path: Path) -> None:
    async def scenario(node: FakeNode, agent: NodeAgent) -> None:
        mirror = node.admit(sleeper("static-web", annotations={
            "kubernetes.io/config.mirror": "x"}))
        agent.reconcile([mirror])
        await agent.dispatch(mirror)
        await node.wait(5)
        assert agent.workers == {} and node.runtime.sandboxes == {}

    on_agent(tmp_path, scenario)


def test_a_deletion_terminates_the_pod_and_confirms_it(tmp_path: Path) -> None:
    async def scenario(node: FakeNode, agent: NodeAgent) -> None:
        pod = node.admit(sleeper("doomed"))
        await agent.dispatch(pod)
        await node.wait_for("doomed", lambda s: s["phase"] == "Running")
        worker = node.delete("doomed", grace_period=3)
        await worker.done.wait()
        assert node.client.deleted == [("default", "doomed", 0)]
        assert node.runtime.sandboxes == {}
        assert dict(node.runtime.stops) == {"app": 3.0}

    on_agent(tmp_path, scenario)


def test_housekeeping_removes_sandboxes_no_worker_owns(tmp_path: Path) -> None:
    async def scenario(node: FakeNode, agent: NodeAgent) -> None:
        kept = node.admit(sleeper("kept"))
        await agent.dispatch(kept)
        await node.wait_for("kept", lambda s: s["phase"] == "Running")
        orphan = await node.runtime.run_pod_sandbox(PodSandboxConfig(
            metadata=PodSandboxMetadata("gone", "default", "uid-of-a-deleted-pod"),
            labels=labels.pod_labels("default", "gone", "uid-of-a-deleted-pod")))
        await agent.housekeeping()
        assert orphan not in node.runtime.sandboxes
        assert running_names(node) == {"kept"}

    on_agent(tmp_path, scenario)
