"""Scheduling decisions: fit, filters, spreading, and kube-scheduler's wording."""

from __future__ import annotations

from typing import Any

from berth.controllers.scheduling import choose_node, pod_requests, usage_by_node

Obj = dict[str, Any]


def node(name: str, cpu: str = "2", mem: str = "4Gi", pods: str = "110", ready: bool = True,
         labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec,
            "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": pods},
                       "conditions": [{"type": "Ready",
                                       "status": "True" if ready else "False"}]}}


def pod(name: str = "p", cpu: str | None = None, mem: str | None = None,
        node_name: str | None = None, **spec: Any) -> Obj:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v}
    container = {"name": "c", "image": "busybox", "resources": {"requests": requests}}
    full: Obj = {"containers": [container], **spec}
    if node_name:
        full["nodeName"] = node_name
    return {"metadata": {"name": name, "namespace": "default"}, "spec": full,
            "status": {"phase": "Running" if node_name else "Pending"}}


def test_requests_sum_containers_and_take_the_largest_init_container() -> None:
    p = pod(cpu="250m", mem="64Mi")
    p["spec"]["containers"].append({"name": "d", "resources": {"requests": {"cpu": "250m"}}})
    p["spec"]["initContainers"] = [{"name": "i", "resources": {"requests": {"cpu": "2"}}},
                                   {"name": "j", "resources": {"requests": {"cpu": "1"}}}]
    got = pod_requests(p)
    assert got["cpu"] == 2000  # millicores: the init container's 2 beats 250m + 250m
    assert got["memory"] == 64 * 1024 * 1024 * 1000
    assert got["pods"] == 1000
    p["spec"]["initContainers"] = [{"name": "i", "resources": {"requests": {"cpu": "100m"}}}]
    assert pod_requests(p)["cpu"] == 500


def test_pods_spread_over_equal_nodes() -> None:
    nodes = [node("a"), node("b"), node("c")]
    bound: list[Obj] = []
    for i in range(6):
        chosen = choose_node(pod(f"p{i}"), nodes, usage_by_node(bound)).node
        assert chosen is not None
        bound.append(pod(f"p{i}", node_name=chosen))
    counts = {n: sum(1 for p in bound if p["spec"]["nodeName"] == n) for n in "abc"}
    assert counts == {"a": 2, "b": 2, "c": 2}


def test_requests_already_bound_count_against_the_node() -> None:
    nodes = [node("a", cpu="1"), node("b", cpu="1")]
    bound = [pod("x", cpu="800m", node_name="a")]
    assert choose_node(pod(cpu="500m"), nodes, usage_by_node(bound)).node == "b"
    finished = pod("y", cpu="800m", node_name="b")
    finished["status"]["phase"] = "Succeeded"
    assert choose_node(pod(cpu="500m"), nodes,
                       usage_by_node([*bound, finished])).node == "b"


def test_message_counts_reasons_like_kube_scheduler() -> None:
    nodes = [node("a", cpu="1", labels={"disk": "ssd"}), node("b"), node("c")]
    result = choose_node(pod(cpu="2", nodeSelector={"disk": "ssd"}), nodes, {})
    assert result.node is None
    assert result.message == ("0/3 nodes are available: 1 Insufficient cpu, "
                              "2 node(s) didn't match Pod's node affinity/selector.")


def test_not_ready_unschedulable_and_tainted_nodes_are_filtered() -> None:
    nodes = [node("a", ready=False), node("b", unschedulable=True),
             node("c", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])]
    result = choose_node(pod(), nodes, {})
    assert result.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{dedicated: db}, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
        "1 node(s) were unschedulable.")
    tolerant = pod(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db",
                                 "effect": "NoSchedule"}])
    assert choose_node(tolerant, nodes, {}).node == "c"


def test_memory_and_pod_count_limits() -> None:
    nodes = [node("a", mem="1Gi", pods="1")]
    assert choose_node(pod(mem="2Gi"), nodes, {}).message == (
        "0/1 nodes are available: 1 Insufficient memory.")
    full = usage_by_node([pod("x", node_name="a")])
    assert choose_node(pod(), nodes, full).message == (
        "0/1 nodes are available: 1 Too many pods.")


def test_required_node_affinity_and_no_nodes() -> None:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["b"]}]}]}}}
    nodes = [node("a", labels={"zone": "a"}), node("b", labels={"zone": "b"})]
    assert choose_node(pod(affinity=affinity), nodes, {}).node == "b"
    assert choose_node(pod(), [], {}).message == "no nodes available to schedule pods"


def test_host_port_conflicts() -> None:
    def with_port(p: Obj) -> Obj:
        p["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
        return p
    nodes = [node("a")]
    usage = usage_by_node([with_port(pod("x", node_name="a"))])
    assert choose_node(with_port(pod()), nodes, usage).message == (
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.")
