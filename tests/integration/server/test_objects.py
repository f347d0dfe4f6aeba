"""REST semantics of single objects: create, get, list, update, patch, delete."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

PODS = "/api/v1/namespaces/default/pods"


async def _create(api: aiohttp.ClientSession, pod: dict[str, Any], path: str = PODS) -> \
        dict[str, Any]:
    async with api.post(path, json=pod) as resp:
        body = await resp.json()
        assert resp.status == 201, body
        return body  # type: ignore[no-any-return,unused-ignore]


async def test_create_sets_server_fields_and_defaults(api: aiohttp.ClientSession,
                                                      make_pod: Any) -> None:
    pod = await _create(api, make_pod("create-1"))
    meta = pod["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0
    assert meta["namespace"] == "default"
    assert pod["status"]["phase"] == "Pending"
    assert pod["spec"]["restartPolicy"] == "Always"  # defaulted
    async with api.get(f"{PODS}/create-1") as resp:
        assert (await resp.json())["metadata"]["uid"] == meta["uid"]


async def test_generate_name(api: aiohttp.ClientSession, make_pod: Any) -> None:
    pod = make_pod("")
    del pod["metadata"]["name"]
    pod["metadata"]["generateName"] = "gen-"
    first, second = await _create(api, pod), await _create(api, pod)
    assert first["metadata"]["name"].startswith("gen-")
    assert len(first["metadata"]["name"]) == len("gen-") + 5
    assert first["metadata"]["name"] != second["metadata"]["name"]


async def test_create_errors_store_nothing(api: aiohttp.ClientSession, make_pod: Any) -> None:
    await _create(api, make_pod("dup"))
    async with api.post(PODS, json=make_pod("dup")) as resp:
        assert resp.status == 409
        assert (await resp.json())["reason"] == "AlreadyExists"
    bad = make_pod("typo")
    bad["spec"]["container"] = bad["spec"].pop("containers")
    async with api.post(PODS, json=bad) as resp:
        body = await resp.json()
        assert resp.status == 400
        assert 'strict decoding error: unknown field "spec.container"' in body["message"]
    async with api.post(PODS, data=b'{"apiVersion": "v1",\n "kind": }',
                        headers={"Content-Type": "application/json"}) as resp:
        body = await resp.json()
        assert resp.status == 400
        assert ":2:" in body["message"]  # line of the syntax error
    async with api.post(PODS, data=b"<pod/>", headers={"Content-Type": "text/xml"}) as resp:
        assert resp.status == 415
    async with api.post("/api/v1/namespaces/nowhere/pods", json=make_pod("lost")) as resp:
        body = await resp.json()
        assert resp.status == 404
        assert body["message"] == 'namespaces "nowhere" not found'
    async with api.post(PODS, json=make_pod("x" * 10),
                        params={"dryRun": "All"}) as resp:
        assert resp.status == 201
    for name in ("typo", "lost", "x" * 10):
        async with api.get(f"{PODS}/{name}") as resp:
            assert resp.status == 404, name


async def test_oversized_body_is_413(api: aiohttp.ClientSession, make_pod: Any) -> None:
    pod = make_pod("huge")
    pod["metadata"]["annotations"] = {"big": "x" * (3 * 1024 * 1024 + 10)}
    async with api.post(PODS, data=json.dumps(pod).encode(),
                        headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 413
        assert (await resp.json())["reason"] == "RequestEntityTooLarge"


async def test_invalid_object_is_422_with_causes(api: aiohttp.ClientSession) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "empty"}, "spec": {}}
    async with api.post(PODS, json=pod) as resp:
        body = await resp.json()
    assert resp.status == 422 and body["reason"] == "Invalid"
    assert any(c["field"].startswith("spec.containers") for c in body["details"]["causes"])


async def test_update_bumps_generation_and_keeps_status(api: aiohttp.ClientSession,
                                                        make_pod: Any) -> None:
    pod = await _create(api, make_pod("upd"))
    pod["spec"]["containers"][0]["image"] = "busybox:2"
    pod["status"] = {"phase": "Running"}  # ignored on the main resource
    async with api.put(f"{PODS}/upd", json=pod) as resp:
        updated = await resp.json()
        assert resp.status == 200, updated
    assert updated["metadata"]["generation"] == 2
    assert updated["status"]["phase"] == "Pending"
    stale = dict(pod, metadata=dict(pod["metadata"]))  # still the first resourceVersion
    async with api.put(f"{PODS}/upd", json=stale) as resp:
        assert resp.status == 409
        assert (await resp.json())["reason"] == "Conflict"
    updated["status"] = {"phase": "Running"}
    updated["spec"]["containers"][0]["image"] = "ignored-on-status"
    async with api.put(f"{PODS}/upd/status", json=updated) as resp:
        after = await resp.json()
    assert after["status"]["phase"] == "Running"
    assert after["spec"]["containers"][0]["image"] == "busybox:2"
    assert after["metadata"]["generation"] == 2


async def test_patch_types(api: aiohttp.ClientSession, make_pod: Any) -> None:
    await _create(api, make_pod("pat"))
    merge = {"metadata": {"labels": {"tier": "front", "app": None}}}
    async with api.patch(f"{PODS}/pat", data=json.dumps(merge),
                         headers={"Content-Type": "application/merge-patch+json"}) as resp:
        body = await resp.json()
    assert body["metadata"]["labels"] == {"tier": "front"}
    smp = {"spec": {"containers": [{"name": "main", "image": "busybox:3"}]}}
    async with api.patch(f"{PODS}/pat", data=json.dumps(smp), headers={
            "Content-Type": "application/strategic-merge-patch+json"}) as resp:
        body = await resp.json()
    container = body["spec"]["containers"][0]
    assert container["image"] == "busybox:3"
    assert container["terminationMessagePath"] == "/dev/termination-log"  # merged, not replaced
    ops = [{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]
    async with api.patch(f"{PODS}/pat", data=json.dumps(ops),
                         headers={"Content-Type": "application/json-patch+json"}) as resp:
        assert (await resp.json())["metadata"]["annotations"] == {"a": "b"}
    async with api.patch(f"{PODS}/pat", data="{}", headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    status_patch = {"status": {"phase": "Running", "podIP": "10.244.1.5"}}
    async with api.patch(f"{PODS}/pat/status", data=json.dumps(status_patch),
                         headers={"Content-Type": "application/merge-patch+json"}) as resp:
        body = await resp.json()
    assert body["status"]["phase"] == "Running" and body["status"]["podIP"] == "10.244.1.5"


async def test_list_with_selectors_and_pages(api: aiohttp.ClientSession, make_pod: Any) -> None:
    for i in range(5):
        pod = make_pod(f"sel-{i}")
        pod["metadata"]["labels"] = {"group": "sel", "parity": "even" if i % 2 == 0 else "odd"}
        await _create(api, pod)
    async with api.get(PODS, params={"labelSelector": "group=sel,parity=even"}) as resp:
        body = await resp.json()
    assert sorted(p["metadata"]["name"] for p in body["items"]) == ["sel-0", "sel-2", "sel-4"]
    async with api.get(PODS, params={"fieldSelector": "metadata.name=sel-3"}) as resp:
        assert [p["metadata"]["name"] for p in (await resp.json())["items"]] == ["sel-3"]
    names: list[str] = []
    params = {"labelSelector": "group=sel", "limit": "2"}
    while True:
        async with api.get(PODS, params=params) as resp:
            page = await resp.json()
        names += [p["metadata"]["name"] for p in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
        params = {"labelSelector": "group=sel", "limit": "2", "continue": token}
    assert sorted(names) == [f"sel-{i}" for i in range(5)]
    async with api.get("/api/v1/pods", params={"labelSelector": "group=sel"}) as resp:
        assert len((await resp.json())["items"]) == 5  # across namespaces
    async with api.get(PODS, params={"labelSelector": "group in (("}) as resp:
        assert resp.status == 400


async def test_table_for_kubectl(api: aiohttp.ClientSession, make_pod: Any) -> None:
    await _create(api, make_pod("tab"))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    async with api.get(f"{PODS}/tab", headers={"Accept": accept}) as resp:
        table = await resp.json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:2] == ["Name", "Ready"]
    assert table["rows"][0]["cells"][0] == "tab"
    async with api.get(PODS, headers={"Accept": "application/vnd.kubernetes.protobuf"}) as resp:
        assert resp.status == 406


async def test_delete_unbound_pod_is_immediate(api: aiohttp.ClientSession, make_pod: Any) -> \
        None:
    await _create(api, make_pod("gone"))
    async with api.delete(f"{PODS}/gone") as resp:
        assert resp.status == 200
    async with api.get(f"{PODS}/gone") as resp:
        assert resp.status == 404


async def test_bound_pod_deletion_waits_for_the_node(api: aiohttp.ClientSession,
                                                     make_pod: Any) -> None:
    await _create(api, make_pod("bound", terminationGracePeriodSeconds=10))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bound"},
               "target": {"kind": "Node", "name": "node-1"}}
    async with api.post(f"{PODS}/bound/binding", json=binding) as resp:
        assert resp.status == 201, await resp.text()
    async with api.post(f"{PODS}/bound/binding", json=binding) as resp:
        assert resp.status == 409  # already bound
    async with api.delete(f"{PODS}/bound") as resp:
        marked = await resp.json()
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 10
    async with api.get(f"{PODS}/bound") as resp:
        assert resp.status == 200  # still there until the node agent confirms
    async with api.delete(f"{PODS}/bound", json={"gracePeriodSeconds": 0}) as resp:
        assert resp.status == 200
    async with api.get(f"{PODS}/bound") as resp:
        assert resp.status == 404


async def test_finalizers_hold_deletion(api: aiohttp.ClientSession) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "held", "finalizers": ["example.com/hold"]}, "data": {"k": "v"}}
    await _create(api, cm, "/api/v1/namespaces/default/configmaps")
    async with api.delete("/api/v1/namespaces/default/configmaps/held") as resp:
        assert (await resp.json())["metadata"]["deletionTimestamp"]
    patch = {"metadata": {"finalizers": None}}
    async with api.patch("/api/v1/namespaces/default/configmaps/held", data=json.dumps(patch),
                         headers={"Content-Type": "application/merge-patch+json"}) as resp:
        assert resp.status == 200, await resp.text()
    async with api.get("/api/v1/namespaces/default/configmaps/held") as resp:
        assert resp.status == 404


async def test_namespaces_lifecycle(api: aiohttp.ClientSession, make_pod: Any) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    await _create(api, ns, "/api/v1/namespaces")
    await _create(api, make_pod("inside"), "/api/v1/namespaces/team-a/pods")
    async with api.delete("/api/v1/namespaces/team-a") as resp:
        assert (await resp.json())["status"]["phase"] == "Terminating"
    async with api.post("/api/v1/namespaces/team-a/pods", json=make_pod("late")) as resp:
        assert resp.status in (403, 404)
    import asyncio

    for _ in range(50):
        async with api.get("/api/v1/namespaces/team-a") as resp:
            if resp.status == 404:
                break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("namespace team-a was not removed")
    async with api.delete("/api/v1/namespaces/default") as resp:
        assert resp.status == 403


async def test_deletecollection(api: aiohttp.ClientSession, make_pod: Any) -> None:
    for i in range(3):
        pod = make_pod(f"coll-{i}")
        pod["metadata"]["labels"] = {"batch": "coll"}
        await _create(api, pod)
    async with api.delete(PODS, params={"labelSelector": "batch=coll"}) as resp:
        assert len((await resp.json())["items"]) == 3
    async with api.get(PODS, params={"labelSelector": "batch=coll"}) as resp:
        assert (await resp.json())["items"] == []


async def test_delete_answers_like_kubernetes(api: aiohttp.ClientSession) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bye"}}
    created = await _create(api, cm, "/api/v1/namespaces/default/configmaps")
    async with api.delete("/api/v1/namespaces/default/configmaps/bye") as resp:
        status = await resp.json()
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"] == {"name": "bye", "group": "", "kind": "configmaps",
                                 "uid": created["metadata"]["uid"]}
