"""The Node's Ready condition follows the runtime's Status (CRI), as the kubelet's does.

A node whose pod network cannot set up sandboxes yet (the network agent has
not written the node's subnet, so ``berth-net``'s CNI STATUS fails) reports
Ready=False with the runtime's reason; as soon as the network is ready the
agent posts Ready=True, without waiting for the next 10 s heartbeat.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from berth.node.agent import NodeAgent
from berth.node.nodestatus import gather_facts, plan_node
from berth.node.runtime.protocol import RuntimeCondition, RuntimeStatus
from berth.testing import looptime
from berth.testing.fakes.node import FakeNode
from berth.testing.looptime import VirtualTimeLoop

Obj = dict[str, Any]
NO_SUBNET = "network 'berth': plugin berth-net: no subnet yet (subnet.env is missing)"


def ready(status: Obj) -> Obj:
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def test_runtime_status_reads_as_the_kubelets_not_ready_message() -> None:
    assert RuntimeStatus((RuntimeCondition("RuntimeReady", True),
                          RuntimeCondition("NetworkReady", True))).not_ready() == ""
    status = RuntimeStatus((RuntimeCondition("RuntimeReady", True),
                            RuntimeCondition("NetworkReady", False, "NetworkPluginNotReady",
                                             "cni: no subnet")))
    assert status.not_ready() == ("container runtime network not ready: NetworkReady=false "
                                  "reason:NetworkPluginNotReady message:cni: no subnet")
    down = RuntimeStatus((RuntimeCondition("RuntimeReady", False, "RuntimeNotReady",
                                           "runc is not on PATH"),))
    assert down.not_ready().startswith("container runtime not ready: RuntimeReady=false")


def test_plan_node_keeps_the_transition_time_while_the_status_holds(tmp_path: Path) -> None:
    facts = gather_facts(tmp_path)
    first = plan_node("n1", facts, address="198.18.0.11", port=10250, runtime="runc",
                      now=100.0, not_ready="container runtime network not ready: x")
    cond = ready(first["status"])
    assert (cond["status"], cond["reason"]) == ("False", "KubeletNotReady")
    assert cond["message"] == "container runtime network not ready: x"
    later = plan_node("n1", facts, address="198.18.0.11", port=10250, runtime="runc",
                      now=200.0, old_conditions=first["status"]["conditions"])
    cond = ready(later["status"])
    assert (cond["status"], cond["reason"]) == ("True", "KubeletReady")
    assert cond["lastTransitionTime"] == cond["lastHeartbeatTime"] != \
        ready(first["status"])["lastTransitionTime"]


def test_ready_follows_the_pod_network_and_flips_without_waiting_a_heartbeat(
        tmp_path: Path) -> None:
    async def main(loop: VirtualTimeLoop) -> None:
        node = FakeNode(loop, tmp_path)
        node.network.not_ready = NO_SUBNET
        agent = NodeAgent(node.ctx, port=10250, heartbeat_seconds=10.0)
        try:
            await agent.register()
            cond = ready(node.client.node_history[-1])
            assert (cond["status"], cond["reason"]) == ("False", "KubeletNotReady")
            assert cond["message"] == ("container runtime network not ready: NetworkReady=false"
                                       " reason:NetworkPluginNotReady message:" + NO_SUBNET)
            heartbeat = asyncio.create_task(agent.heartbeat())
            await asyncio.sleep(3.5)
            assert ready(node.client.node_history[-1])["status"] == "False"
            posted = len(node.client.node_history)
            started = loop.time()
            node.network.not_ready = ""  # the network agent wrote subnet.env
            while ready(node.client.node_history[-1])["status"] != "True":
                await asyncio.sleep(0.1)
            assert loop.time() - started <= 1.5, "Ready must not wait for the next heartbeat"
            assert ready(node.client.node_history[-1])["message"] == \
                "berth node agent is posting ready status"
            # once ready, the agent is back to one status per heartbeat
            await asyncio.sleep(25)
            assert len(node.client.node_history) - posted <= 4
            heartbeat.cancel()
        finally:
            await node.close()

    looptime.run(main)
