"""The committed schema matches its generator and describes Kubernetes' shapes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from berth.api import schema

ROOT = Path(__file__).resolve().parents[3]


def test_schema_data_is_what_the_generator_writes() -> None:
    pytest.importorskip("kubernetes")
    spec = importlib.util.spec_from_file_location("gen_schema", ROOT / "tools" / "gen_schema.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = json.loads((ROOT / "berth" / "api" / "schema_data.json").read_text())
    assert module.generate() == committed


def test_types_use_definition_names_and_the_mini_language() -> None:
    types = schema.types()
    pod_spec = types["io.k8s.api.core.v1.PodSpec"]
    assert pod_spec["containers"] == "[]io.k8s.api.core.v1.Container"
    assert pod_spec["nodeSelector"] == "map[string]"
    assert pod_spec["hostNetwork"] == "boolean"
    assert types["io.k8s.api.core.v1.ResourceRequirements"]["limits"] == "map[quantity]"
    assert types["io.k8s.api.core.v1.ServicePort"]["targetPort"] == "int-or-string"
    meta = types["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
    assert meta["creationTimestamp"] == "time"
    assert types["io.k8s.api.apps.v1.DaemonSetSpec"]["selector"] == \
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"
    known = set(types) | schema.SCALARS
    for fields in types.values():
        for expr in fields.values():
            while schema.element_type(expr) is not None:
                expr = schema.element_type(expr) or ""
            assert expr in known, expr


def test_lazy_module_attribute_and_roots() -> None:
    assert schema.TYPES is schema.types()
    assert schema.root_type("v1", "Pod") == "io.k8s.api.core.v1.Pod"
    assert schema.root_type("discovery.k8s.io/v1", "EndpointSlice") == \
        "io.k8s.api.discovery.v1.EndpointSlice"
    with pytest.raises(KeyError):
        schema.root_type("v1", "Deployment")


def test_required_fields() -> None:
    assert schema.required_fields("io.k8s.api.core.v1.Container") == ("name",)
    assert schema.required_fields("io.k8s.api.core.v1.PodSpec") == ("containers",)
    assert schema.required_fields("io.k8s.api.core.v1.Pod") == ()


def test_walk_pairs_values_with_types_and_marks_unknown_fields() -> None:
    pod = {"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1"}}}],
                    "bogus": 1}}
    nodes = {schema.format_path(n.path): n.type for n in schema.walk(pod, "io.k8s.api.core.v1.Pod")}
    assert nodes["spec.containers[0].name"] == "string"
    assert nodes["spec.containers[0].resources.limits[cpu]"] == "quantity"
    assert nodes["spec.bogus"] == ""


def test_type_at_follows_paths() -> None:
    assert schema.type_at("io.k8s.api.core.v1.Pod", ["spec", "containers", 0, "image"]) == "string"
    assert schema.type_at("io.k8s.api.core.v1.Pod", ["spec", "nope"]) is None
