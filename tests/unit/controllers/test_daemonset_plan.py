"""DaemonSet planning: one pod per matching node, rolling replacement, status counts."""

from __future__ import annotations

import copy
from typing import Any

from berth.controllers.daemonset_plan import (
    HASH_LABEL,
    new_pod,
    plan_daemonset,
    template_hash,
)

Obj = dict[str, Any]


def daemonset(node_selector: dict[str, str] | None = None, image: str = "agent:1",
              max_unavailable: int | str = 1) -> Obj:
    spec: Obj = {"containers": [{"name": "agent", "image": image}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "logs", "namespace": "kube-system", "uid": "ds-uid",
                         "generation": 2},
            "spec": {"selector": {"matchLabels": {"app": "logs"}},
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"maxUnavailable": max_unavailable}},
                     "template": {"metadata": {"labels": {"app": "logs"}}, "spec": spec}}}


def node(name: str, labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def running(ds: Obj, node_name: str, name: str, ready: bool = True) -> Obj:
    pod = new_pod(ds, node_name)
    pod["metadata"]["name"] = name
    pod["metadata"]["creationTimestamp"] = f"2024-01-01T00:00:0{name[-1]}Z"
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}
    return pod


def test_one_pod_per_matching_node() -> None:
    ds = daemonset({"role": "worker"})
    nodes = [node("a", {"role": "worker"}), node("b"), node("c", {"role": "worker"})]
    plan = plan_daemonset(ds, nodes, [])
    assert plan.create_on == ("a", "c")
    assert plan.delete == ()
    assert plan.status["desiredNumberScheduled"] == 2
    assert plan.status["currentNumberScheduled"] == 0
    assert plan.status["observedGeneration"] == 2


def test_new_pod_is_owned_bound_and_tolerates_node_conditions() -> None:
    ds = daemonset()
    pod = new_pod(ds, "a")
    assert pod["spec"]["nodeName"] == "a"
    ref = pod["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"]) == ("DaemonSet", "ds-uid", True)
    assert pod["metadata"]["labels"]["app"] == "logs"
    assert pod["metadata"]["labels"][HASH_LABEL] == template_hash(ds)
    keys = {t["key"] for t in pod["spec"]["tolerations"]}
    assert "node.kubernetes.io/unschedulable" in keys


def test_pods_on_nodes_that_stop_matching_or_vanish_are_deleted() -> None:
    ds = daemonset({"role": "worker"})
    pods = [running(ds, "a", "p1"), running(ds, "b", "p2"), running(ds, "gone", "p3")]
    plan = plan_daemonset(ds, [node("a", {"role": "worker"}), node("b")], pods)
    assert plan.create_on == ()
    assert sorted(plan.delete) == ["p2", "p3"]
    assert plan.status["numberMisscheduled"] == 2
    assert plan.status["numberReady"] == 1


def test_duplicates_are_removed_and_other_owners_ignored() -> None:
    ds = daemonset()
    foreign = running(ds, "a", "x9")
    foreign["metadata"]["ownerReferences"][0]["uid"] = "other"
    plan = plan_daemonset(ds, [node("a")], [running(ds, "a", "p1"), running(ds, "a", "p2"),
                                            foreign])
    assert plan.delete == ("p2",)


def test_tainted_nodes_are_skipped_unless_tolerated() -> None:
    ds = daemonset()
    taint = {"key": "gpu", "value": "yes", "effect": "NoSchedule"}
    assert plan_daemonset(ds, [node("a", taints=[taint])], []).create_on == ()
    ds["spec"]["template"]["spec"]["tolerations"] = [{"key": "gpu", "operator": "Exists"}]
    assert plan_daemonset(ds, [node("a", taints=[taint])], []).create_on == ("a",)
    assert plan_daemonset(ds, [node("b", unschedulable=True)], []).create_on == ("b",)


def test_template_change_replaces_one_available_pod_at_a_time() -> None:
    old = daemonset(image="agent:1")
    pods = [running(old, n, f"p{i}") for i, n in enumerate("abc", 1)]
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    nodes = [node(n) for n in "abc"]
    plan = plan_daemonset(new, nodes, pods)
    assert plan.delete == ("p1",)
    assert plan.status["updatedNumberScheduled"] == 0
    # p1 is terminating: nothing more goes until its replacement is available
    pods[0]["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    plan = plan_daemonset(new, nodes, pods)
    assert plan.delete == ()
    assert plan.create_on == ()
    # once gone, its node gets a new-template pod
    plan = plan_daemonset(new, nodes, pods[1:])
    assert plan.create_on == ("a",)
    assert plan.delete == ()


def test_unavailable_old_pods_go_first_and_percent_budget() -> None:
    old = daemonset(max_unavailable="50%")
    pods = [running(old, "a", "p1"), running(old, "b", "p2", ready=False),
            running(old, "c", "p3"), running(old, "d", "p4")]
    new = copy.deepcopy(old)
    new["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    plan = plan_daemonset(new, [node(n) for n in "abcd"], pods)
    assert plan.delete == ("p2", "p1")
    assert plan.status["numberUnavailable"] == 1
