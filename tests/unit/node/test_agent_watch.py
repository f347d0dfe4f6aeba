"""The agent's pod watch: list, watch from the list's resourceVersion, re-list on 410 Gone.

A small fake API client stands in for the server here (each list waits for the
test to hand it an answer, so the test sees the agent between two lists); the
real server path is covered by tests/integration/node.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
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
    def __init__(self, events: list[list[Obj]]) -> None:
        self.lists: asyncio.Queue[Obj] = asyncio.Queue()
        self.events = events
        self.watched: list[tuple[str | None, str | None]] = []
        self.listed: list[str | None] = []

    async def list(self, resource: Any, namespace: Any = None, *, field_selector: str = "",
                   **_: Any) -> Obj:
        self.listed.append(field_selector)
        return await self.lists.get()

    async def watch(self, resource: Any, namespace: Any = None, *,
                    resource_version: str | None = None, field_selector: str | None = None,
                    **_: Any) -> AsyncIterator[Obj]:
        self.watched.append((resource_version, field_selector))
        for event in self.events.pop(0):
            yield event
        raise Gone("too old resource version")


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


async def test_list_then_watch_from_its_version_and_relist_after_gone(tmp_path: Path) -> None:
    client = FakeClient(
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
    client.lists.put_nowait({"metadata": {"resourceVersion": "5"},
                             "items": [a_pod("a", "ua", "4")]})
    task = asyncio.create_task(agent.watch_pods())
    try:
        await until(lambda: len(client.listed) == 2)  # after the 410 the agent lists again
        assert client.watched == [("5", "spec.nodeName=n1")]
        assert seen == ["a", "b"] and forgotten == ["a"]  # mirror pods are not run
        assert agent.synced.is_set()
        client.lists.put_nowait({"metadata": {"resourceVersion": "9"},
                                 "items": [a_pod("b", "ub", "8")]})
        await until(lambda: len(client.watched) == 2)
        assert client.listed == ["spec.nodeName=n1"] * 2
        assert client.watched[1] == ("9", "spec.nodeName=n1")
        assert seen == ["a", "b", "b"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        ctx.executor.close()
