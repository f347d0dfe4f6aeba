"""berth.api.patch: the three PATCH formats, on plain dicts (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest

from berth.api.errors import BadRequest, Invalid
from berth.api.patch import apply_json_patch, apply_merge_patch, apply_strategic_merge_patch

POD_TYPE = "io.k8s.api.core.v1.Pod"


def _pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
        "spec": {
            "containers": [
                {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}],
                 "ports": [{"containerPort": 80}]},
                {"name": "side", "image": "side:1"},
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "tolerations": [{"key": "k1"}],
        },
    }


def test_merge_patch_replaces_lists_and_deletes_nulls() -> None:
    out = apply_merge_patch(_pod(), {"metadata": {"labels": {"a": None, "c": "3"}},
                                     "spec": {"containers": [{"name": "only"}]}})
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert out["spec"]["containers"] == [{"name": "only"}]


def test_merge_patch_leaves_input_untouched() -> None:
    pod = _pod()
    apply_merge_patch(pod, {"metadata": {"labels": None}})
    assert pod["metadata"]["labels"] == {"a": "1", "b": "2"}


def test_strategic_merge_merges_containers_by_name() -> None:
    patch = {"spec": {"containers": [{"name": "app", "image": "app:2",
                                      "env": [{"name": "B", "value": "2"}]}]}}
    out = apply_strategic_merge_patch(_pod(), patch, POD_TYPE)
    app, side = out["spec"]["containers"]
    assert app["image"] == "app:2" and side["name"] == "side"
    assert [e["name"] for e in app["env"]] == ["A", "B"]
    assert app["ports"] == [{"containerPort": 80}]


def test_strategic_merge_directives() -> None:
    patch = {"spec": {
        "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
        "containers": [{"name": "side", "$patch": "delete"}],
        "tolerations": [{"key": "k2"}],  # no strategy: replaced
    }, "metadata": {"$deleteFromPrimitiveList/finalizers": ["x"], "finalizers": ["y"]}}
    out = apply_strategic_merge_patch(_pod(), patch, POD_TYPE)
    assert [c["name"] for c in out["spec"]["containers"]] == ["app"]
    assert out["spec"]["tolerations"] == [{"key": "k2"}]
    assert out["metadata"]["finalizers"] == ["y"]
    replaced = apply_strategic_merge_patch(
        _pod(), {"spec": {"containers": [{"$patch": "replace"}, {"name": "new"}]}}, POD_TYPE)
    assert replaced["spec"]["containers"] == [{"name": "new"}]


def test_set_element_order_reorders() -> None:
    patch = {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "app"}]}}
    out = apply_strategic_merge_patch(_pod(), patch, POD_TYPE)
    assert [c["name"] for c in out["spec"]["containers"]] == ["side", "app"]


def test_retain_keys_on_volumes() -> None:
    patch = {"spec": {"volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"],
                                   "hostPath": {"path": "/srv"}}]}}
    out = apply_strategic_merge_patch(_pod(), patch, POD_TYPE)
    assert out["spec"]["volumes"] == [{"name": "data", "hostPath": {"path": "/srv"}}]


def test_strategic_merge_rejects_items_without_merge_key() -> None:
    with pytest.raises(Invalid):
        apply_strategic_merge_patch(_pod(), {"spec": {"containers": [{"image": "x"}]}},
                                    POD_TYPE)
    with pytest.raises(BadRequest):
        apply_strategic_merge_patch(_pod(), ["not", "a", "map"], POD_TYPE)


def test_json_patch_operations() -> None:
    ops = [
        {"op": "replace", "path": "/spec/containers/0/image", "value": "app:9"},
        {"op": "add", "path": "/metadata/labels/c", "value": "3"},
        {"op": "remove", "path": "/metadata/labels/a"},
        {"op": "add", "path": "/spec/containers/-", "value": {"name": "third"}},
        {"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/name"},
        {"op": "move", "from": "/metadata/labels/b", "path": "/metadata/labels/moved"},
        {"op": "test", "path": "/metadata/labels/c", "value": "3"},
    ]
    out = apply_json_patch(_pod(), ops)
    assert out["spec"]["containers"][0]["image"] == "app:9"
    assert out["metadata"]["labels"] == {"c": "3", "name": "p", "moved": "2"}
    assert out["spec"]["containers"][-1] == {"name": "third"}


def test_json_patch_escapes_and_failures() -> None:
    pod = _pod()
    pod["metadata"]["annotations"] = {"example.com/key": "v", "t~i": "w"}
    out = apply_json_patch(pod, [{"op": "remove", "path": "/metadata/annotations/example.com~1key"},
                                 {"op": "remove", "path": "/metadata/annotations/t~0i"}])
    assert out["metadata"]["annotations"] == {}
    with pytest.raises(Invalid, match="test of"):
        apply_json_patch(pod, [{"op": "test", "path": "/metadata/name", "value": "other"}])
    with pytest.raises(Invalid, match="does not exist"):
        apply_json_patch(pod, [{"op": "remove", "path": "/spec/nothere"}])
    with pytest.raises(BadRequest):
        apply_json_patch(pod, {"op": "add"})
    with pytest.raises(BadRequest, match="unknown op"):
        apply_json_patch(pod, [{"op": "frobnicate", "path": "/a"}])
