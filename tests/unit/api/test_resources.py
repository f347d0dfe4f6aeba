"""The resource registry answers the names kubectl and the store use."""

from __future__ import annotations

import pytest

from berth.api import resources
from berth.api.resources import RESOURCES, by_key, by_kind, by_plural, resolve


@pytest.mark.parametrize(("name", "key"), [
    ("pods", "pods"), ("pod", "pods"), ("po", "pods"), ("Pod", "pods"),
    ("svc", "services"), ("ns", "namespaces"), ("no", "nodes"), ("ep", "endpoints"),
    ("cm", "configmaps"), ("ev", "events"), ("ds", "daemonsets.apps"),
    ("daemonsets.apps", "daemonsets.apps"), ("endpointslices", "endpointslices.discovery.k8s.io"),
    ("endpointslice", "endpointslices.discovery.k8s.io"), ("leases", "leases.coordination.k8s.io"),
    ("secrets", "secrets"),
])
def test_resolve_cli_names(name: str, key: str) -> None:
    res = resolve(name)
    assert res is not None and res.key == key


def test_resolve_unknown_name() -> None:
    assert resolve("deployments") is None


def test_api_version_and_list_kind() -> None:
    ds = by_kind("apps/v1", "DaemonSet")
    assert ds is not None
    assert (ds.api_version, ds.list_kind, ds.namespaced) == ("apps/v1", "DaemonSetList", True)
    pod = by_plural("", "pods")
    assert pod is not None and pod.api_version == "v1"
    assert pod.subresources == {"status", "log", "exec", "binding"}
    node = by_key("nodes")
    assert node is not None and not node.namespaced and node.subresources == {"status"}


def test_keys_are_unique_and_kinds_have_schemas() -> None:
    from berth.api import schema

    keys = [r.key for r in RESOURCES]
    assert len(keys) == len(set(keys))
    for res in RESOURCES:
        assert schema.root_type(res.api_version, res.kind).endswith("." + res.kind)


def test_for_object_and_groups() -> None:
    assert resources.for_object({"apiVersion": "v1", "kind": "Pod"}) is by_key("pods")
    assert resources.for_object({"apiVersion": "v2", "kind": "Pod"}) is None
    assert resources.for_object({"kind": "Pod"}) is None
    grouped = resources.groups()
    assert [r.kind for r in grouped["apps/v1"]] == ["DaemonSet"]
    assert "Pod" in [r.kind for r in grouped["v1"]]
