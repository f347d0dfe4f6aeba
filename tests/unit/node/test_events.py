"""Node events: the Event object the agent renders, and aggregation of repeats.

The recorder posts through a recording stand-in for ``berth.client.Client``
(the real server path is covered by tests/integration/node/test_events.py).
"""

from __future__ import annotations

from typing import Any

from berth.node.events import EventRecorder, container_path, plan_event

Obj = dict[str, Any]
POD: Obj = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u-1",
                         "resourceVersion": "7"},
            "spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "app"}]}}


def test_plan_event_points_at_the_pod_and_container() -> None:
    event = plan_event(POD, "Started", "Started container app", node="n1",
                       now="2026-01-01T00:00:00Z", field_path=container_path(POD, "app"))
    assert event["metadata"]["namespace"] == "shop"
    assert event["metadata"]["name"].startswith("web.")
    assert event["involvedObject"] == {
        "kind": "Pod", "apiVersion": "v1", "namespace": "shop", "name": "web", "uid": "u-1",
        "resourceVersion": "7", "fieldPath": "spec.containers{app}"}
    assert event["source"] == {"component": "kubelet", "host": "n1"}
    assert (event["type"], event["count"]) == ("Normal", 1)
    assert container_path(POD, "init") == "spec.initContainers{init}"


class RecordingClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def create(self, resource: Any, obj: Obj) -> Obj:
        self.calls.append(("create", obj))
        return obj

    async def patch(self, resource: Any, namespace: str, name: str, patch: Obj, *,
                    patch_type: str = "strategic") -> Obj:
        self.calls.append(("patch", (namespace, name, patch, patch_type)))
        return patch


async def test_repeats_patch_the_count_of_one_event() -> None:
    client = RecordingClient()
    recorder = EventRecorder(client, "n1")  # type: ignore[arg-type]
    for second in range(3):
        recorder.record(POD, "Unhealthy", "Readiness probe failed: exec false",
                        now=f"2026-01-01T00:00:0{second}Z", event_type="Warning",
                        container="app")
    recorder.record(POD, "Killing", "Stopping container app", now="2026-01-01T00:00:05Z")
    await recorder.flush()
    kinds = [kind for kind, _ in client.calls]
    assert kinds == ["create", "patch", "patch", "create"]
    created = client.calls[0][1]
    namespace, name, patch, patch_type = client.calls[2][1]
    assert (namespace, name) == ("shop", created["metadata"]["name"])
    assert patch == {"count": 3, "lastTimestamp": "2026-01-01T00:00:02Z"}
    assert patch_type == "merge"
    assert client.calls[3][1]["reason"] == "Killing"


async def test_standalone_agent_records_nothing() -> None:
    recorder = EventRecorder(None, "n1")
    recorder.record(POD, "Started", "Started container app", now="2026-01-01T00:00:00Z")
    assert recorder._queue.empty() and recorder._task is None
