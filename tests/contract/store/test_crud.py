"""Create, get, update, delete and optimistic concurrency, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from berth.api.errors import AlreadyExists, BadRequest, Conflict, NotFound
from berth.store import Store


def pod(name: str, namespace: str = "default", **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def test_create_then_get_returns_the_object_with_its_resource_version(
        store: Store, resource: str) -> None:
    original = pod("a")
    created = await store.create(resource, original)
    assert "resourceVersion" not in original["metadata"], "the caller's dict is not changed"
    rv = int(created["metadata"]["resourceVersion"])
    assert rv > 0
    assert created["spec"] == original["spec"]
    assert await store.get(resource, "default", "a") == created
    assert await store.current_revision() >= rv


async def test_create_twice_is_already_exists_naming_the_object(store: Store,
                                                                resource: str) -> None:
    await store.create(resource, pod("a"))
    with pytest.raises(AlreadyExists, match=f'{resource} "a" already exists'):
        await store.create(resource, pod("a"))
    # same name in another namespace is another object
    await store.create(resource, pod("a", namespace="other"))


async def test_get_missing_is_not_found(store: Store, resource: str) -> None:
    with pytest.raises(NotFound, match=f'{resource} "nope" not found') as info:
        await store.get(resource, "default", "nope")
    assert info.value.code == 404


async def test_object_without_name_is_a_clear_bad_request(store: Store, resource: str) -> None:
    with pytest.raises(BadRequest, match=r"metadata\.name"):
        await store.create(resource, {"metadata": {"namespace": "default"}})


async def test_resource_versions_increase_across_resources(store: Store, resource: str) -> None:
    rvs = []
    for i in range(3):
        rvs.append(int((await store.create(resource, pod(f"p{i}")))["metadata"]
                       ["resourceVersion"]))
        rvs.append(int((await store.create(resource + "x", pod(f"p{i}")))["metadata"]
                       ["resourceVersion"]))
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs)


async def test_update_with_current_version_succeeds_and_stale_one_conflicts(
        store: Store, resource: str) -> None:
    created = await store.create(resource, pod("a"))
    changed = {**created, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    updated = await store.update(resource, changed)
    assert int(updated["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"])
    assert (await store.get(resource, "default", "a"))["spec"]["containers"][0][
        "image"] == "nginx"
    with pytest.raises(Conflict, match="the object has been modified") as info:
        await store.update(resource, created)  # still carries the old resourceVersion
    assert info.value.code == 409


async def test_update_without_resource_version_is_unconditional(store: Store,
                                                                resource: str) -> None:
    await store.create(resource, pod("a"))
    blind = pod("a", tier="x")
    result = await store.update(resource, blind)
    assert result["metadata"]["labels"] == {"tier": "x"}


async def test_update_missing_is_not_found(store: Store, resource: str) -> None:
    with pytest.raises(NotFound):
        await store.update(resource, pod("ghost"))


async def test_two_racing_writers_exactly_one_wins(store: Store, resource: str) -> None:
    created = await store.create(resource, pod("a"))
    for round_ in range(5):
        base = await store.get(resource, "default", "a")
        attempts = [
            store.update(resource, {**base, "metadata": {**base["metadata"],
                                                         "labels": {"w": f"{round_}-{i}"}}})
            for i in range(2)]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        winners = [r for r in results if isinstance(r, dict)]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert (await store.get(resource, "default", "a")) == winners[0]
    assert created != winners[0]


async def test_delete_returns_last_state_and_honours_preconditions(store: Store,
                                                                   resource: str) -> None:
    created = await store.create(resource, pod("a", app="web"))
    updated = await store.update(resource, pod("a", app="db"))
    with pytest.raises(Conflict, match="precondition"):
        await store.delete(resource, "default", "a",
                           resource_version=created["metadata"]["resourceVersion"])
    last = await store.delete(resource, "default", "a",
                              resource_version=updated["metadata"]["resourceVersion"])
    assert last["metadata"]["labels"] == {"app": "db"}
    assert int(last["metadata"]["resourceVersion"]) > int(
        updated["metadata"]["resourceVersion"])
    with pytest.raises(NotFound):
        await store.get(resource, "default", "a")
    with pytest.raises(NotFound):
        await store.delete(resource, "default", "a")


async def test_cluster_scoped_objects_use_an_empty_namespace(store: Store,
                                                             resource: str) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    await store.create(resource, node)
    assert (await store.get(resource, "", "n1"))["metadata"]["name"] == "n1"
    listed = await store.list(resource)
    assert [o["metadata"]["name"] for o in listed.items] == ["n1"]
    await store.delete(resource, "", "n1")


async def test_data_survives_reopening_the_store(backend, resource: str) -> None:
    first = await backend.open()
    try:
        created = await first.create(resource, pod("a"))
        await first.update(resource, pod("a", v="2"))
        old_rv = int(created["metadata"]["resourceVersion"])
        revision = await first.current_revision()
    finally:
        await first.close()
    second = await backend.open()
    try:
        assert (await second.get(resource, "default", "a"))["metadata"]["labels"] == {"v": "2"}
        assert await second.current_revision() >= revision
        again = await second.create(resource, pod("b"))
        assert int(again["metadata"]["resourceVersion"]) > revision
        # the history survived too: a watch from before the restart replays it
        events = second.watch(resource, resource_version=str(old_rv))
        first_event = await asyncio.wait_for(anext(events), 5)
        assert (first_event.type, first_event.object["metadata"]["labels"]) == (
            "MODIFIED", {"v": "2"})
        await events.aclose()
    finally:
        await second.close()
