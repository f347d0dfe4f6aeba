"""Strict decoding: parse errors with positions, unknown fields, wrong JSON types."""

from __future__ import annotations

import pytest

from berth.api.decode import (
    decode_json,
    decode_yaml,
    decode_yaml_documents,
    expand_lists,
    parse_path,
    suggest_field,
    unknown_fields,
)
from berth.api.errors import DecodeError


def test_multi_document_yaml_skips_empty_documents() -> None:
    text = "---\n# comment only\n---\napiVersion: v1\nkind: Namespace\n---\n\n---\n" \
           "apiVersion: v1\nkind: ConfigMap\n"
    docs = decode_yaml_documents(text, "m.yaml")
    assert [d.obj["kind"] for d in docs] == ["Namespace", "ConfigMap"]
    assert [d.line for d in docs] == [4, 9]


def test_yaml_keeps_timestamps_as_strings_and_keys_as_strings() -> None:
    [obj] = decode_yaml("t: 2024-01-01T00:00:00Z\n80: http\nflag: true\n")
    assert obj == {"t": "2024-01-01T00:00:00Z", "80": "http", "flag": True}


@pytest.mark.parametrize(("text", "line", "column"), [
    ("a: [1\n", 2, 1),
    ("a: b\n  c: d\n", 2, 4),
    ("kind: Pod\nmetadata:\n\tname: x\n", 3, 1),
])
def test_yaml_errors_name_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(DecodeError) as info:
        decode_yaml(text, "pod.yaml")
    err = info.value
    assert (err.source, err.line, err.column) == ("pod.yaml", line, column)
    assert err.message.startswith(f"pod.yaml:{line}:{column}: ")


def test_yaml_document_must_be_a_mapping() -> None:
    with pytest.raises(DecodeError, match=r"m.yaml:3:1: expected a mapping"):
        decode_yaml("kind: Pod\n---\n- 1\n", "m.yaml")


def test_json_errors_name_line_and_column() -> None:
    with pytest.raises(DecodeError) as info:
        decode_json(b'{\n  "kind": "Pod",\n  "spec": }', "body")
    assert (info.value.line, info.value.column) == (3, 11)
    assert info.value.code == 400


def test_json_objects_and_arrays() -> None:
    assert decode_json(b'{"kind": "Pod"}') == [{"kind": "Pod"}]
    assert decode_json('[{"a": 1}, {"b": 2}]') == [{"a": 1}, {"b": 2}]
    with pytest.raises(DecodeError, match="expected a JSON object, got string"):
        decode_json(b'"x"')
    with pytest.raises(DecodeError, match="not UTF-8"):
        decode_json(b"\xff\xfe")


def pod(spec: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def test_unknown_fields_report_full_paths() -> None:
    obj = pod({"container": [], "containers": [{"name": "a", "imagee": "x",
                                                 "ports": [{"containerPort": 80, "prot": 1}]}]})
    obj["metadata"]["nam"] = "x"  # type: ignore[index]
    messages = [e.message() for e in unknown_fields(obj)]
    assert messages == [
        'unknown field "metadata.nam"',
        'unknown field "spec.container"',
        'unknown field "spec.containers[0].imagee"',
        'unknown field "spec.containers[0].ports[0].prot"',
    ]


def test_wrong_json_types_are_reported_with_kubernetes_wording() -> None:
    obj = pod({"containers": "nginx", "hostNetwork": "yes",
               "terminationGracePeriodSeconds": 1.5})
    messages = [e.message() for e in unknown_fields(obj)]
    assert messages == [
        'spec.containers: Invalid value: "string": spec.containers in body must be of type '
        'array: "string"',
        'spec.hostNetwork: Invalid value: "string": spec.hostNetwork in body must be of type '
        'boolean: "string"',
        'spec.terminationGracePeriodSeconds: Invalid value: "number": '
        'spec.terminationGracePeriodSeconds in body must be of type integer: "number"',
    ]


def test_flexible_types_accept_both_forms() -> None:
    obj = pod({"containers": [{"name": "a", "image": "x",
                               "resources": {"limits": {"cpu": 1, "memory": "1Gi"}},
                               "livenessProbe": {"httpGet": {"port": "http"}}}]})
    obj["metadata"]["labels"] = {"a": "b"}  # type: ignore[index]
    assert unknown_fields(obj) == []
    assert unknown_fields({"apiVersion": "v9", "kind": "Thing", "x": 1}) == []


def test_suggest_field() -> None:
    obj = pod({})
    assert suggest_field("spec.container", obj) == "spec.containers"
    assert suggest_field("spec.containers[0].imagee", obj) == "spec.containers[0].image"
    assert suggest_field("spec.containers[0].volumemounts", obj) == \
        "spec.containers[0].volumeMounts"
    assert suggest_field("spec.zzzzzz", obj) is None
    assert suggest_field("metadata.lables", "io.k8s.api.core.v1.Pod") == "metadata.labels"
    assert suggest_field("spec.x", {"apiVersion": "v1", "kind": "Nope"}) is None


def test_parse_path() -> None:
    assert parse_path("spec.containers[0].resources.limits[cpu]") == \
        ["spec", "containers", 0, "resources", "limits", "cpu"]


def test_duplicate_yaml_keys_are_refused() -> None:
    with pytest.raises(DecodeError) as info:
        decode_yaml("metadata:\n  name: a\n  name: b\n", "dup.yaml")
    assert info.value.message == 'dup.yaml:3:3: mapping key "name" already defined at line 2'


def test_yaml_merge_keys_still_work() -> None:
    assert decode_yaml("b: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n") == [
        {"b": {"x": 1}, "d": {"x": 1, "y": 2}}]


def test_expand_lists() -> None:
    objs = decode_yaml("kind: List\nitems:\n- kind: Pod\n- kind: PodList\n  items: [{kind: A}]\n"
                       "---\nkind: Service\n")
    assert [o["kind"] for o in expand_lists(objs)] == ["Pod", "A", "Service"]
