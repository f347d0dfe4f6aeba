"""EndpointSlice and Endpoints planning: selection, conditions, named ports, grouping."""

from __future__ import annotations

from typing import Any

from berth.controllers.endpoints_plan import (
    MAX_ENDPOINTS,
    SERVICE_NAME_LABEL,
    differs,
    plan_endpoints,
    plan_slices,
    wants_endpoints,
)

Obj = dict[str, Any]


def service(ports: list[Obj] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "svc-uid"},
            "spec": {"selector": {"app": "web"},
                     "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP",
                                         "targetPort": "http"}], **spec}}


def pod(name: str, ip: str, http_port: int = 8080, ready: bool = True,
        labels: dict[str, str] | None = None, **meta: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"{name}-uid",
                         "labels": labels or {"app": "web"}, **meta},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [
                {"name": "http", "containerPort": http_port, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": ip,
                       "conditions": [{"type": "Ready", "status": str(ready)}]}}


def test_ready_not_ready_and_terminating_endpoints() -> None:
    pods = [pod("a", "10.244.0.2"), pod("b", "10.244.0.3", ready=False),
            pod("c", "10.244.0.4", deletionTimestamp="2024-01-01T00:00:00Z"),
            pod("d", "10.244.0.5", labels={"app": "other"}), pod("e", "")]
    [slice_] = plan_slices(service(), pods)
    assert slice_["metadata"]["labels"][SERVICE_NAME_LABEL] == "web"
    assert slice_["metadata"]["ownerReferences"][0]["uid"] == "svc-uid"
    assert slice_["addressType"] == "IPv4"
    assert slice_["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    got = {e["targetRef"]["name"]: e["conditions"] for e in slice_["endpoints"]}
    assert got == {"a": {"ready": True, "serving": True, "terminating": False},
                   "b": {"ready": False, "serving": False, "terminating": False},
                   "c": {"ready": False, "serving": True, "terminating": True}}
    assert slice_["endpoints"][0]["nodeName"] == "n1"
    endpoints = plan_endpoints(service(), pods)
    [subset] = endpoints["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.0.2"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.0.3"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_a_name_resolving_differently_splits_slices() -> None:
    pods = [pod("a", "10.244.0.2", 8080), pod("b", "10.244.0.3", 9090),
            pod("c", "10.244.0.4", 8080)]
    slices = plan_slices(service(), pods)
    by_port = {s["ports"][0]["port"]: [e["addresses"][0] for e in s["endpoints"]]
               for s in slices}
    assert by_port == {8080: ["10.244.0.2", "10.244.0.4"], 9090: ["10.244.0.3"]}
    assert len({s["metadata"]["name"] for s in slices}) == 2
    assert len(plan_endpoints(service(), pods)["subsets"]) == 2


def test_unresolvable_name_drops_the_port_and_numbers_pass_through() -> None:
    ports = [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
             {"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"},
             {"name": "raw", "port": 81, "targetPort": 8181, "protocol": "TCP"}]
    [slice_] = plan_slices(service(ports), [pod("a", "10.244.0.2")])
    assert [(p["name"], p["port"]) for p in slice_["ports"]] == [("http", 8080), ("raw", 8181)]


def test_no_pods_gives_one_empty_slice_and_no_subsets() -> None:
    [slice_] = plan_slices(service(), [])
    assert slice_["endpoints"] == []
    assert "subsets" not in plan_endpoints(service(), [])


def test_large_groups_are_split() -> None:
    pods = [pod(f"p{i:03}", f"10.244.{i // 200}.{i % 200 + 2}") for i in range(MAX_ENDPOINTS + 5)]
    slices = plan_slices(service(), pods)
    assert sorted(len(s["endpoints"]) for s in slices) == [5, MAX_ENDPOINTS]


def test_publish_not_ready_addresses_and_which_services_qualify() -> None:
    svc = service(publishNotReadyAddresses=True)
    [slice_] = plan_slices(svc, [pod("b", "10.244.0.3", ready=False)])
    assert slice_["endpoints"][0]["conditions"]["ready"] is True
    assert not wants_endpoints({"spec": {"type": "ClusterIP"}})
    assert not wants_endpoints({"spec": {"type": "ExternalName", "selector": {"a": "b"}}})
    assert wants_endpoints(service())


def test_differs_ignores_server_fields() -> None:
    [desired] = plan_slices(service(), [pod("a", "10.244.0.2")])
    stored = dict(desired, metadata=dict(desired["metadata"], resourceVersion="7", uid="u"))
    assert not differs(desired, stored)
    [changed] = plan_slices(service(), [pod("a", "10.244.0.2", ready=False)])
    assert differs(changed, stored)


def test_hostname_published_for_pods_in_the_services_subdomain() -> None:
    member = pod("a", "10.244.0.2")
    member["spec"].update(hostname="db-0", subdomain="web")
    stranger = pod("b", "10.244.0.3")
    stranger["spec"].update(hostname="db-1", subdomain="other")
    [slice_] = plan_slices(service(clusterIP="None"), [member, stranger])
    assert [e.get("hostname") for e in slice_["endpoints"]] == ["db-0", None]
    [subset] = plan_endpoints(service(clusterIP="None"), [member, stranger])["subsets"]
    assert [a.get("hostname") for a in subset["addresses"]] == ["db-0", None]
