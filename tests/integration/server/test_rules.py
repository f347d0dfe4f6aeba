"""The pure rules behind the handlers: path resolution, negotiation, graceful deletion."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from berth.api.errors import Conflict, NotAcceptable, NotFound
from berth.api.resources import by_plural
from berth.server.negotiate import DeleteOptions, choose_output, delete_options
from berth.server.paths import parse_target
from berth.server.strategy import plan_binding, plan_delete

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
PODS = by_plural("", "pods")


def test_paths_resolve_namespaced_cluster_and_subresources() -> None:
    t = parse_target("", "v1", "namespaces/default/pods/web/status")
    assert (t.resource.plural, t.namespace, t.name, t.subresource) == (
        "pods", "default", "web", "status")
    t = parse_target("", "v1", "namespaces/team-a")
    assert (t.resource.plural, t.namespace, t.name) == ("namespaces", None, "team-a")
    t = parse_target("", "v1", "namespaces/team-a/status")
    assert (t.resource.plural, t.name, t.subresource) == ("namespaces", "team-a", "status")
    t = parse_target("apps", "v1", "namespaces/kube-system/daemonsets")
    assert (t.resource.kind, t.namespace, t.name) == ("DaemonSet", "kube-system", None)
    t = parse_target("", "v1", "pods")
    assert t.namespace is None and t.is_collection
    with pytest.raises(NotFound, match="widgets"):
        parse_target("", "v1", "namespaces/default/widgets")
    with pytest.raises(NotFound, match="subresource"):
        parse_target("", "v1", "namespaces/default/configmaps/x/status")
    with pytest.raises(NotFound):
        parse_target("", "v1", "namespaces/default/nodes")  # nodes are cluster-scoped


def test_accept_header_negotiation() -> None:
    assert choose_output(None).table is False
    assert choose_output("application/json;as=Table;v=v1;g=meta.k8s.io,application/json").table
    assert not choose_output("application/vnd.kubernetes.protobuf,application/json").table
    assert not choose_output("*/*").table
    with pytest.raises(NotAcceptable):
        choose_output("application/vnd.kubernetes.protobuf")


def _pod(node: str | None = "node-1", grace: int | None = None,
         finalizers: list[str] | None = None) -> dict[str, object]:
    spec: dict[str, object] = {"containers": [{"name": "c", "image": "i"}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    meta: dict[str, object] = {"name": "p", "namespace": "default", "uid": "u1",
                               "resourceVersion": "7"}
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
            "status": {"phase": "Running"}}


def test_graceful_deletion_plans() -> None:
    assert PODS is not None
    assert plan_delete(PODS, _pod(node=None), DeleteOptions(), NOW).action == "delete"
    marked = plan_delete(PODS, _pod(grace=5), DeleteOptions(), NOW)
    assert marked.action == "mark"
    assert marked.obj["metadata"]["deletionGracePeriodSeconds"] == 5
    assert marked.obj["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:05Z"
    assert plan_delete(PODS, _pod(), DeleteOptions(), NOW).obj["metadata"][
        "deletionGracePeriodSeconds"] == 30
    assert plan_delete(PODS, _pod(), DeleteOptions(grace_period_seconds=0), NOW).action == \
        "delete"
    longer = plan_delete(PODS, marked.obj, DeleteOptions(grace_period_seconds=60), NOW)
    assert longer.action == "noop"  # a second DELETE may only shorten the grace period
    held = plan_delete(PODS, _pod(finalizers=["x"]), DeleteOptions(grace_period_seconds=0), NOW)
    assert held.action == "mark"
    with pytest.raises(Conflict, match="Precondition"):
        plan_delete(PODS, _pod(), DeleteOptions(precondition_uid="other"), NOW)


def test_delete_options_from_body_and_query() -> None:
    opts = delete_options({"gracePeriodSeconds": "3"}, {"propagationPolicy": "Foreground"})
    assert (opts.grace_period_seconds, opts.propagation_policy) == (3, "Foreground")
    assert delete_options({}, {"gracePeriodSeconds": 0, "dryRun": ["All"]}).dry_run
    with pytest.raises(Exception, match="propagationPolicy"):
        delete_options({"propagationPolicy": "Sideways"}, None)


def test_binding_sets_node_once() -> None:
    bound = plan_binding(_pod(node=None), {"target": {"kind": "Node", "name": "n2"}})
    assert bound["spec"]["nodeName"] == "n2"
    with pytest.raises(Conflict, match="already assigned"):
        plan_binding(_pod(node="n1"), {"target": {"kind": "Node", "name": "n2"}})


def test_identities_persist_in_the_token_file(tmp_path: Path) -> None:
    from berth.server.auth import UserInfo, add_identity, ensure_tokens

    path = tmp_path / "tokens.csv"
    auth = ensure_tokens(path)
    admin = auth.token_for("admin")
    assert admin and auth.authenticate(f"Bearer {admin}") is not None
    node = UserInfo("system:node:n1", "n1", ("system:nodes", "system:authenticated"))
    token = add_identity(path, auth, node)
    assert auth.authenticate(f"Bearer {token}") == node
    reloaded = ensure_tokens(path)  # a restart keeps both identities
    assert reloaded.authenticate(f"Bearer {token}") == node
    assert reloaded.token_for("admin") == admin
    assert reloaded.authenticate("Bearer nope") is None
    assert reloaded.authenticate(f"Basic {token}") is None
