"""The columns `berth get` prints and the server sends to kubectl as a Table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from berth.api.tables import build_table, human_duration, pod_status, render_table, summarize_pod

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(containers: list[dict[str, Any]] | None = None, *, phase: str = "Pending",
        init: list[dict[str, Any]] | None = None, init_specs: int = 0,
        conditions: list[dict[str, Any]] | None = None, **meta: Any) -> dict[str, Any]:
    statuses = containers or []
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ts(300), **meta},
        "spec": {
            "containers": [{"name": f"c{i}", "image": "busybox"} for i in range(max(1, len(statuses)))],
            "initContainers": [{"name": f"i{i}", "image": "busybox"} for i in range(init_specs)],
        },
        "status": {"phase": phase, "containerStatuses": statuses,
                   "initContainerStatuses": init or [], "conditions": conditions or []},
    }


def waiting(reason: str, restarts: int = 0) -> dict[str, Any]:
    return {"name": "c", "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason}}}


def running(ready: bool = True) -> dict[str, Any]:
    return {"name": "c", "ready": ready, "restartCount": 0,
            "state": {"running": {"startedAt": ts(60)}}}


def terminated(reason: str = "", code: int = 0, signal: int = 0) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": "c", "ready": False, "restartCount": 0, "state": {"terminated": term}}


@pytest.mark.parametrize(("obj", "expected"), [
    (pod(), "Pending"),
    (pod([waiting("ContainerCreating")]), "ContainerCreating"),
    (pod([running()], phase="Running"), "Running"),
    (pod([waiting("CrashLoopBackOff", 3)], phase="Running"), "CrashLoopBackOff"),
    (pod([terminated("Completed")], phase="Succeeded"), "Completed"),
    (pod([terminated("Error", 1)], phase="Failed"), "Error"),
    (pod([terminated(code=2)], phase="Failed"), "ExitCode:2"),
    (pod([terminated(signal=9)], phase="Failed"), "Signal:9"),
    (pod([waiting("PodInitializing")], init=[waiting("PodInitializing")], init_specs=1),
     "Init:0/1"),
    (pod([waiting("PodInitializing")], init=[terminated("Completed"), running()], init_specs=2),
     "Init:1/2"),
    (pod([waiting("PodInitializing")], init=[waiting("CrashLoopBackOff")], init_specs=1),
     "Init:CrashLoopBackOff"),
    (pod([waiting("PodInitializing")], init=[terminated("Error", 1)], init_specs=1),
     "Init:Error"),
    (pod([waiting("PodInitializing")], init=[terminated("Completed")], init_specs=1,
         conditions=[{"type": "Initialized", "status": "True"}]), "PodInitializing"),
    (pod([running()], phase="Running", deletionTimestamp=ts(1)), "Terminating"),
    (pod([terminated("Completed")], phase="Succeeded", deletionTimestamp=ts(1)), "Completed"),
    (pod([terminated("Completed"), running()], phase="Running",
         conditions=[{"type": "Ready", "status": "False"}]), "NotReady"),
])
def test_pod_status_matches_kubectl(obj: dict[str, Any], expected: str) -> None:
    assert pod_status(obj) == expected


def test_ready_counts_running_ready_containers_and_sidecars() -> None:
    obj = pod([running(), running(ready=False)], phase="Running", init_specs=1,
              init=[{**running(), "started": True}])
    obj["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    summary = summarize_pod(obj)
    assert (summary.ready, summary.total) == (2, 3)


@pytest.mark.parametrize(("seconds", "text"), [
    (5, "5s"), (119, "119s"), (150, "2m30s"), (600, "10m"), (3 * 3600 + 720, "3h12m"),
    (30 * 3600, "30h"), (3 * 86400 + 3600, "3d1h"), (100 * 86400, "100d"),
    (3 * 365 * 86400, "3y"), (-5, "<invalid>"),
])
def test_human_duration_like_kubectl(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_pod_table_default_and_wide_columns() -> None:
    obj = pod([running()], phase="Running")
    obj["status"]["podIP"] = "10.244.1.5"
    obj["spec"]["nodeName"] = "node1"
    obj["status"]["containerStatuses"][0]["restartCount"] = 2
    table = build_table("Pod", [obj], now=NOW)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == \
        ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert table["rows"][0]["object"]["metadata"]["name"] == "web"
    narrow = render_table(table)
    assert narrow[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert narrow[1].split() == ["web", "1/1", "Running", "2", "5m"]
    wide = render_table(table, wide=True)
    assert wide[0].startswith("NAME ")
    assert "NOMINATED NODE" in wide[0] and "READINESS GATES" in wide[0]
    assert wide[1].split()[5:] == ["10.244.1.5", "node1", "<none>", "<none>"]


def test_columns_are_aligned_three_spaces_apart() -> None:
    table = build_table("Pod", [pod([running()], phase="Running")], now=NOW)
    header, row = render_table(table)
    assert header == "NAME   READY   STATUS    RESTARTS   AGE"
    assert row == "web    1/1     Running   0          5m"


def test_restarts_show_time_since_last_restart() -> None:
    cs = running()
    cs["restartCount"] = 3
    cs["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ts(120)}}
    table = build_table("Pod", [pod([cs], phase="Running")], now=NOW)
    assert table["rows"][0]["cells"][3] == "3 (2m ago)"


def test_namespace_column_for_all_namespaces() -> None:
    table = build_table("Pod", [pod([running()], phase="Running")], now=NOW)
    lines = render_table(table, namespace_column=True)
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert lines[1].split()[:2] == ["default", "web"]


def test_service_columns() -> None:
    svc = {"kind": "Service", "metadata": {"name": "web", "creationTimestamp": ts(60)},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.20",
                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                              {"port": 53, "protocol": "UDP"}],
                    "selector": {"app": "web"}}}
    lines = render_table(build_table("Service", [svc], now=NOW), wide=True)
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE",
                                "SELECTOR"]
    assert lines[1].split() == ["web", "NodePort", "10.96.0.20", "<none>", "80:30080/TCP,53/UDP",
                                "60s", "app=web"]


def test_node_columns() -> None:
    node = {"kind": "Node", "metadata": {"name": "node1", "creationTimestamp": ts(7200),
                                          "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "198.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.31.0-berth"}}}
    lines = render_table(build_table("Node", [node], now=NOW), wide=True)
    assert lines[0].split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert lines[1].split()[:6] == ["node1", "Ready,SchedulingDisabled", "control-plane", "120m",
                                    "v1.31.0-berth", "198.18.0.2"]


def test_endpointslice_and_endpoints_list_first_three_addresses() -> None:
    es = {"kind": "EndpointSlice", "metadata": {"name": "web-abc"}, "addressType": "IPv4",
          "ports": [{"port": 80}],
          "endpoints": [{"addresses": [f"10.244.0.{i}"]} for i in range(1, 6)]}
    row = build_table("EndpointSlice", [es], now=NOW)["rows"][0]["cells"]
    assert row[:4] == ["web-abc", "IPv4", "80", "10.244.0.1,10.244.0.2,10.244.0.3 + 2 more..."]
    ep = {"kind": "Endpoints", "metadata": {"name": "web"},
          "subsets": [{"addresses": [{"ip": "10.244.0.1"}], "ports": [{"port": 80}]}]}
    assert build_table("Endpoints", [ep], now=NOW)["rows"][0]["cells"][1] == "10.244.0.1:80"


def test_other_kinds_have_kubectl_headers() -> None:
    heads = {
        "DaemonSet": "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE",
        "Namespace": "NAME STATUS AGE",
        "ConfigMap": "NAME DATA AGE",
        "Secret": "NAME TYPE DATA AGE",
        "Event": "LAST SEEN TYPE REASON OBJECT MESSAGE",
        "Lease": "NAME HOLDER AGE",
        "Widget": "NAME AGE",
    }
    for kind, head in heads.items():
        table = build_table(kind, [], now=NOW)
        assert " ".join(c["name"].upper() for c in table["columnDefinitions"]
                        if c["priority"] == 0) == head


def test_include_object_modes() -> None:
    obj = pod([running()], phase="Running")
    assert build_table("Pod", [obj], include_object="Object")["rows"][0]["object"] is obj
    assert "object" not in build_table("Pod", [obj], include_object="None")["rows"][0]
