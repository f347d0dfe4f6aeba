"""The agent's pod watch: list, watch from the list's resourceVersion, re-list on 410 Gone.

A small fake API client stands in for the server here; the real server path
is covered by tests/integration/node.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from berth.api.errors import Gone
from berth.node.agent import NodeAgent
from berth.node.clock import SystemClock
from berth.node.context import NodeContext
from berth.node.network import NetnsExecutor

Obj = dict[str, Any]


def a_pod(name: str, uid: str, rv: str, **meta: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "default", "uid": uid,
                         "resourceVersion": rv, **meta}, "spec": {"nodeName": "n1"}}


class FakeClient:
    def __init__(self, lists: list[Obj], events: list[list[Obj]]) -> None:
        self.lists, self.events = lists, events
        self.watched: list[tuple[str | None, str | None]] = []
        self.listed: list[str | None] = []

    async def list(self, resource: Any, namespace: Any = None, *, field_selector: str = "",
                   **_: Any) -> Obj:
        self.listed.append(field_selector)
        return self.lists.pop(0)

    async def watch(self, resource: Any, namespace: Any = None, *,
                    resource_version: str | None = None, field_selector: str | None = None,
                    **_: Any) -> AsyncIterator[Obj]:
        self.watched.append((resource_version, field_selector))
        for event in self.events.pop(0):
            yield event
        raise Gone("too old resource version")


async def test_list_then_watch_from_its_version_and_relist_after_gone(tmp_path: Path) -> None:
    client = FakeClient(
        lists=[{"metadata": {"resourceVersion": "5"}, "items": [a_pod("a", "ua", "4")]},
               {"metadata": {"resourceVersion": "9"}, "items": [a_pod("b", "ub", "8")]}],
        events=[[{"type": "ADDED", "object": a_pod("b", "ub", "6")},
                 {"type": "DELETED", "object": a_pod("a", "ua", "7")},
                 {"type": "ADDED", "object": a_pod(
                     "m", "um", "7", annotations={"kubernetes.io/config.mirror": "x"})}],
                []])
    ctx = NodeContext(node_name="n1", runtime=None, executor=NetnsExecutor(),  # type: ignore[arg-type]
                      clock=SystemClock(), root_dir=tmp_path, host_ip="127.0.0.1",
                      client=client)  # type: ignore[arg-type]
    agent = NodeAgent(ctx, port=10250)
    seen: list[str] = []
    forgotten: list[str] = []
    agent._dispatch = lambda pod: seen.append(pod["metadata"]["name"])  # type: ignore[method-assign]

    async def forget(pod: Obj) -> None:
        forgotten.append(pod["metadata"]["name"])

    agent.forget = forget  # type: ignore[method-assign]
    await agent.watch_pods()  # returns after the 410: the caller lists again
    assert client.watched == [("5", "spec.nodeName=n1")]
    assert seen == ["a", "b"] and forgotten == ["a"]  # mirror pods are not run
    assert agent.synced.is_set()
    await agent.watch_pods()
    assert client.listed == ["spec.nodeName=n1"] * 2
    assert client.watched[1] == ("9", "spec.nodeName=n1")
    assert seen == ["a", "b", "b"]
    ctx.executor.close()
