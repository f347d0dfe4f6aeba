"""Label and field selectors parse and match as kubectl's -l and --field-selector."""

from __future__ import annotations

import pytest

from berth.api.errors import SelectorError
from berth.api.selectors import FieldSelector, LabelSelector

LABELS = {"app": "web", "tier": "front", "release": "1"}


@pytest.mark.parametrize(("text", "matches"), [
    ("", True), ("app=web", True), ("app==web", True), ("app!=web", False),
    ("app=db", False), ("missing!=x", True), ("app in (web,db)", True),
    ("app in (db)", False), ("app notin (db, cache)", True), ("missing notin (a)", True),
    ("tier", True), ("missing", False), ("!missing", True), ("!app", False),
    ("app=web,tier=front", True), ("app=web, tier=back", False), ("release>0", True),
    ("release<1", False), ("app in (web),!canary,tier", True), ("example.com/team=", False),
])
def test_label_selector_matching(text: str, matches: bool) -> None:
    assert LabelSelector.parse(text).matches(LABELS) is matches


@pytest.mark.parametrize("text", [
    "app in web", "app in (", "=web", "app=web,", "app notin ()", "a b", "app=we b",
    "release>x", "Bad Key=1", "app=-bad",
])
def test_label_selector_errors(text: str) -> None:
    with pytest.raises(SelectorError) as info:
        LabelSelector.parse(text)
    assert info.value.code == 400
    assert text in info.value.message


def test_empty_value_selects_empty_label() -> None:
    assert LabelSelector.parse("app=").matches({"app": ""})
    assert not LabelSelector.parse("app=").matches(LABELS)


def test_label_selector_round_trips_to_text() -> None:
    sel = LabelSelector.parse("app=web,tier in (b,a),!canary,release")
    assert str(sel) == "app=web,tier in (a,b),!canary,release"
    assert LabelSelector.parse(str(sel)) == sel


def test_from_spec() -> None:
    sel = LabelSelector.from_spec({"app": "web"}, [
        {"key": "tier", "operator": "In", "values": ["front", "back"]},
        {"key": "canary", "operator": "DoesNotExist"},
        {"key": "release", "operator": "Exists"},
    ])
    assert sel.matches(LABELS)
    assert not sel.matches({**LABELS, "canary": "true"})
    assert LabelSelector.from_spec().matches({})
    assert not LabelSelector.from_label_selector(None).matches(LABELS)
    assert LabelSelector.from_label_selector({}).matches(LABELS)
    with pytest.raises(SelectorError, match="not a valid label selector operator"):
        LabelSelector.from_spec(None, [{"key": "a", "operator": "Gt", "values": ["1"]}])
    with pytest.raises(SelectorError, match="values set can't be empty"):
        LabelSelector.from_spec(None, [{"key": "a", "operator": "In"}])


POD = {"metadata": {"name": "web", "namespace": "default"},
       "spec": {"nodeName": "node-1", "hostNetwork": False},
       "status": {"phase": "Running"}}


@pytest.mark.parametrize(("text", "matches"), [
    ("", True), ("metadata.name=web", True), ("metadata.name==web", True),
    ("metadata.name!=web", False), ("spec.nodeName=node-1,status.phase=Running", True),
    ("spec.nodeName=", False), ("spec.schedulerName=", True), ("status.phase!=Pending", True),
    ("spec.hostNetwork=false", True), ("metadata.namespace=kube-system", False),
])
def test_field_selector_matching(text: str, matches: bool) -> None:
    assert FieldSelector.parse(text).matches(POD) is matches


def test_field_selector_escapes_and_errors() -> None:
    sel = FieldSelector.parse(r"metadata.name=a\,b")
    assert sel.matches({"metadata": {"name": "a,b"}})
    assert str(sel) == r"metadata.name=a\,b"
    assert sel.requires("metadata.name") == "a,b"
    for bad in ("metadata.name", "=x", "a=b=c", r"a=b\x"):
        with pytest.raises(SelectorError):
            FieldSelector.parse(bad)
    assert FieldSelector.equals(**{"spec.nodeName": "node-1"}).matches(POD)
