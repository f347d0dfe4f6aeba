"""Pod lifecycle Events on a real node: what `berth describe pod` and kubectl show.

One pod with a container that runs (readiness probe failing) and one that
crashes: the agent posts Pulled, Created, Started for each, Unhealthy for
the probe, BackOff (aggregated: one Event whose count grows) for the crash
loop, and Killing on deletion.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from berth.api.resources import by_key
from berth.cli.describe import describe_one
from berth.client import Client
from tests.integration.node.conftest import PODS, Cluster, container, pod, wait_for, wait_gone

pytestmark = [pytest.mark.root, pytest.mark.slow]
EVENTS = by_key("events")
Obj = dict[str, Any]


async def _events(api: Client, name: str) -> list[Obj]:
    assert EVENTS is not None
    items = (await api.list(EVENTS, "default")).get("items") or []
    return [e for e in items if e["involvedObject"]["name"] == name]


async def _wait_events(api: Client, name: str, wanted: set[tuple[str, str]],
                       timeout: float = 25) -> list[Obj]:
    deadline = time.monotonic() + timeout
    while True:
        events = await _events(api, name)
        seen = {(e["reason"], e["involvedObject"].get("fieldPath", "")) for e in events}
        if wanted <= seen or time.monotonic() > deadline:
            assert wanted <= seen, f"missing {wanted - seen}; got {sorted(seen)}"
            return events
        await asyncio.sleep(0.3)


async def test_lifecycle_events_are_posted_and_described(cluster: Cluster, api: Client) -> None:
    assert PODS is not None
    never_ready = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
    await api.create(PODS, pod("evt", [
        container("web", ["sleep", "3600"], readinessProbe=never_ready),
        container("crash", ["sh", "-c", "exit 3"])], cluster.node))
    web, crash = "spec.containers{web}", "spec.containers{crash}"
    events = await _wait_events(api, "evt", {
        ("Pulled", web), ("Created", web), ("Started", web), ("Unhealthy", web),
        ("Started", crash), ("BackOff", crash)})
    for e in events:
        assert e["source"] == {"component": "kubelet", "host": cluster.node}
        assert e["involvedObject"]["kind"] == "Pod"
    by_reason = {e["reason"]: e for e in events}
    assert by_reason["Unhealthy"]["type"] == "Warning"
    assert by_reason["Unhealthy"]["message"] == "Readiness probe failed: exec false"
    assert by_reason["Started"]["type"] == "Normal"
    # a failing probe repeats as one aggregated Event, not one object per failure
    await wait_for(api, "evt", lambda p: True)
    await asyncio.sleep(2.5)
    unhealthy = [e for e in await _events(api, "evt") if e["reason"] == "Unhealthy"]
    assert len(unhealthy) == 1 and int(unhealthy[0]["count"]) >= 2
    text = await describe_one(api, PODS, "default", "evt")
    assert "Started container web" in text and "Back-off restarting failed container crash" \
        in text
    await api.delete(PODS, "default", "evt")
    await _wait_events(api, "evt", {("Killing", web)})
    await wait_gone(api, "evt")
