"""Lists: namespaces, label and field selectors, consistent pagination."""

from __future__ import annotations

from typing import Any

import pytest

from berth.api.errors import BadRequest, Gone
from berth.api.selectors import FieldSelector, LabelSelector
from berth.store import Store


def obj(name: str, namespace: str = "a", **labels: str) -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"nodeName": "n1" if labels.get("app") == "web" else "n2"}}


def names(items: list[dict]) -> list[str]:
    return [f'{o["metadata"]["namespace"]}/{o["metadata"]["name"]}' for o in items]


async def fill(store: Store, resource: str) -> None:
    for ns in ("a", "b"):
        for i in range(3):
            await store.create(resource, obj(f"p{i}", ns, app="web" if i % 2 else "db"))


async def test_list_by_namespace_and_all_namespaces(store: Store, resource: str) -> None:
    await fill(store, resource)
    everything = await store.list(resource)
    assert sorted(names(everything.items)) == [
        "a/p0", "a/p1", "a/p2", "b/p0", "b/p1", "b/p2"]
    assert int(everything.resource_version) == await store.current_revision()
    assert everything.continue_token is None
    assert names((await store.list(resource, "b")).items) == ["b/p0", "b/p1", "b/p2"]
    assert (await store.list(resource, "zzz")).items == []


async def test_list_with_label_and_field_selectors(store: Store, resource: str) -> None:
    await fill(store, resource)
    web = await store.list(resource, label_selector=LabelSelector.parse("app=web"))
    assert sorted(names(web.items)) == ["a/p1", "b/p1"]
    not_web = await store.list(resource, "a", label_selector=LabelSelector.parse("app!=web"))
    assert names(not_web.items) == ["a/p0", "a/p2"]
    by_field = await store.list(resource, field_selector=FieldSelector.parse(
        "metadata.name=p2,metadata.namespace=b"))
    assert names(by_field.items) == ["b/p2"]
    by_spec = await store.list(resource, field_selector=FieldSelector.parse("spec.nodeName=n1"))
    assert sorted(names(by_spec.items)) == ["a/p1", "b/p1"]


async def collect(store: Store, resource: str, limit: int, **kw: Any) -> tuple[
        list[str], set[str]]:
    seen: list[str] = []
    versions: set[str] = set()
    token = None
    for _ in range(50):
        page = await store.list(resource, limit=limit, continue_token=token, **kw)
        assert len(page.items) <= limit
        seen += names(page.items)
        versions.add(page.resource_version)
        token = page.continue_token
        if token is None:
            return seen, versions
    raise AssertionError("pagination did not end")


async def test_pagination_returns_every_object_once(store: Store, resource: str) -> None:
    await fill(store, resource)
    seen, versions = await collect(store, resource, 4)
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 6
    assert len(versions) == 1


async def test_pagination_with_a_selector_pages_over_matching_objects(
        store: Store, resource: str) -> None:
    await fill(store, resource)
    for i in range(3, 9):
        await store.create(resource, obj(f"p{i}", "a", app="web"))
    seen, _ = await collect(store, resource, 2, label_selector=LabelSelector.parse("app=web"))
    assert sorted(seen) == sorted(["a/p1", "b/p1"] + [f"a/p{i}" for i in range(3, 9)])


async def test_later_pages_show_the_snapshot_of_the_first_page(store: Store,
                                                               resource: str) -> None:
    for i in range(6):
        await store.create(resource, obj(f"p{i}", "a", gen="1"))
    first = await store.list(resource, limit=2)
    assert names(first.items) == ["a/p0", "a/p1"] and first.continue_token
    # changes after the first page: none of them may show up in this list
    await store.update(resource, obj("p3", "a", gen="2"))
    await store.delete(resource, "a", "p4")
    await store.create(resource, obj("p2a", "a", gen="2"))
    rest = await store.list(resource, limit=10, continue_token=first.continue_token)
    assert names(rest.items) == ["a/p2", "a/p3", "a/p4", "a/p5"]
    assert {o["metadata"]["labels"]["gen"] for o in rest.items} == {"1"}
    assert rest.resource_version == first.resource_version
    assert rest.continue_token is None
    # a fresh list sees the new state
    assert names((await store.list(resource)).items) == [
        "a/p0", "a/p1", "a/p2", "a/p2a", "a/p3", "a/p5"]


async def test_a_garbled_continue_token_is_a_bad_request(store: Store, resource: str) -> None:
    with pytest.raises(BadRequest, match="continue"):
        await store.list(resource, limit=1, continue_token="not-a-token!")


async def test_continuing_past_compaction_is_gone(store: Store, resource: str) -> None:
    for i in range(4):
        await store.create(resource, obj(f"p{i}"))
    first = await store.list(resource, limit=2)
    await store.update(resource, obj("p3", "a", gen="2"))  # history is needed for the snapshot
    await store.update(resource, obj("p3", "a", gen="3"))
    await store.compact(await store.current_revision())
    with pytest.raises(Gone) as info:
        await store.list(resource, limit=2, continue_token=first.continue_token)
    assert info.value.code == 410
