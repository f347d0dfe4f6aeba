"""The patch `berth apply` computes, checked by applying it as the server does."""

from __future__ import annotations

import json
from typing import Any

from berth.api.apply import LAST_APPLIED, last_applied, plan_apply, three_way_patch
from berth.api.patch import apply_strategic_merge_patch

POD = "io.k8s.api.core.v1.Pod"


def manifest(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx"}], **spec}}


def live_after_create(desired: dict[str, Any]) -> dict[str, Any]:
    """What the server stores: the created body plus its own defaults and status."""
    live = json.loads(json.dumps(plan_apply(desired, None).body))
    live["metadata"]["uid"] = "u-1"
    live["spec"]["nodeName"] = "node1"
    for c in live["spec"]["containers"]:
        c["imagePullPolicy"] = "Always"
    live["status"] = {"phase": "Running"}
    return live


def reapply(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    plan = plan_apply(desired, live)
    assert plan.action == "patch"
    return apply_strategic_merge_patch(live, plan.body, POD)


def recorded(obj: dict[str, Any]) -> dict[str, Any]:
    """What the annotation holds: the manifest with an (empty) annotations map."""
    out = json.loads(json.dumps(obj))
    out["metadata"].setdefault("annotations", {})
    return out


def test_create_records_last_applied_configuration() -> None:
    plan = plan_apply(manifest(), None)
    assert plan.action == "create"
    assert last_applied(plan.body) == recorded(manifest())


def test_annotation_text_is_byte_for_byte_kubectls() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "labels": {"app": "web"}, "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    text = plan_apply(pod, None).body["metadata"]["annotations"][LAST_APPLIED]
    # as kubectl 1.31 wrote it for the same manifest
    assert text == ('{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},'
                    '"labels":{"app":"web"},"name":"web","namespace":"default"},'
                    '"spec":{"containers":[{"image":"nginx","name":"c"}]}}\n')


def test_same_manifest_again_is_unchanged() -> None:
    live = live_after_create(manifest())
    assert plan_apply(manifest(), live).action == "unchanged"


def test_changed_image_patches_only_that_container_and_keeps_server_fields() -> None:
    live = live_after_create(manifest())
    desired = manifest()
    desired["spec"]["containers"][0]["image"] = "nginx:1.27"
    plan = plan_apply(desired, live)
    assert plan.body["spec"] == {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    result = apply_strategic_merge_patch(live, plan.body, POD)
    assert result["spec"]["containers"] == [
        {"name": "app", "image": "nginx:1.27", "imagePullPolicy": "Always"}]
    assert result["spec"]["nodeName"] == "node1"
    assert result["status"] == {"phase": "Running"}
    assert plan_apply(desired, result).action == "unchanged"


def test_fields_dropped_from_manifest_are_deleted() -> None:
    first = manifest()
    first["metadata"]["labels"]["tier"] = "front"
    first["spec"]["containers"].append({"name": "log", "image": "busybox",
                                        "env": [{"name": "A", "value": "1"}]})
    live = live_after_create(first)
    result = reapply(manifest(), live)
    assert result["metadata"]["labels"] == {"app": "web"}
    assert [c["name"] for c in result["spec"]["containers"]] == ["app"]
    assert last_applied(result) == recorded(manifest())


def test_labels_added_by_others_survive_apply() -> None:
    live = live_after_create(manifest())
    live["metadata"]["labels"]["owner"] = "someone-else"
    desired = manifest()
    desired["metadata"]["labels"]["app"] = "web2"
    result = reapply(desired, live)
    assert result["metadata"]["labels"] == {"app": "web2", "owner": "someone-else"}


def test_nested_keyed_lists_merge_by_key() -> None:
    first = manifest()
    first["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"},
                                             {"name": "B", "value": "2"}]
    live = live_after_create(first)
    second = manifest()
    second["spec"]["containers"][0]["env"] = [{"name": "A", "value": "9"}]
    patch = three_way_patch(last_applied(live), plan_apply(second, None).body, live)
    env_patch = patch["spec"]["containers"][0]["env"]
    assert {"name": "B", "$patch": "delete"} in env_patch
    result = apply_strategic_merge_patch(live, patch, POD)
    assert result["spec"]["containers"][0]["env"] == [{"name": "A", "value": "9"}]


def test_atomic_lists_are_replaced_whole() -> None:
    first = manifest()
    first["spec"]["containers"][0]["args"] = ["-a", "-b"]
    live = live_after_create(first)
    second = manifest()
    second["spec"]["containers"][0]["args"] = ["-c"]
    result = reapply(second, live)
    assert result["spec"]["containers"][0]["args"] == ["-c"]


def test_primitive_merge_lists_use_delete_directive() -> None:
    first = manifest()
    first["metadata"]["finalizers"] = ["a/x", "b/y"]
    live = live_after_create(first)
    live["metadata"]["finalizers"].append("c/other")
    second = manifest()
    second["metadata"]["finalizers"] = ["a/x"]
    plan = plan_apply(second, live)
    assert plan.body["metadata"]["$deleteFromPrimitiveList/finalizers"] == ["b/y"]
    result = apply_strategic_merge_patch(live, plan.body, POD)
    assert result["metadata"]["finalizers"] == ["a/x", "c/other"]


def test_objects_applied_without_annotation_only_add() -> None:
    live = live_after_create(manifest())
    del live["metadata"]["annotations"]
    live["metadata"]["labels"]["extra"] = "1"
    plan = plan_apply(manifest(), live)
    assert plan.action == "patch"
    assert "labels" not in plan.body["metadata"]
    assert LAST_APPLIED in plan.body["metadata"]["annotations"]
