"""etcd failures: a member dies, an answer is lost, nothing answers; and the helper."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from berth.api.errors import AlreadyExists
from berth.store import StoreUnavailable, WatchEvent
from berth.store.etcd import EtcdStore
from berth.testing.etcd import EtcdCluster, free_port

pytestmark = pytest.mark.etcd


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    etcd = EtcdCluster(tmp_path_factory.mktemp("etcd3"), size=3)
    try:
        etcd.start()
        yield etcd
    finally:
        etcd.stop()


def obj(name: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default"}}


async def test_killing_the_current_member_loses_no_write_and_no_event(
        cluster: EtcdCluster) -> None:
    store = await EtcdStore.connect(cluster.endpoints, timeout=2, retry_for=20)
    try:
        seed = await store.create("pods", obj("seed"))
        events = store.watch("pods", resource_version=seed["metadata"]["resourceVersion"])
        got: list[WatchEvent] = []

        async def read(n: int) -> None:
            async for event in events:
                got.append(event)
                if len(got) == n:
                    return

        reader = asyncio.ensure_future(read(30))
        written = [await store.create("pods", obj(f"a{i}")) for i in range(10)]
        await asyncio.sleep(0.2)
        victim = [p for _, p in cluster.endpoints].index(store.current_endpoint[1])
        cluster.stop_member(victim)  # SIGKILL, like a crash
        written += [await store.create("pods", obj(f"b{i}")) for i in range(20)]
        assert store.current_endpoint[1] != cluster.endpoints[victim][1]
        await asyncio.wait_for(reader, 30)
        assert [int(e.resource_version) for e in got] == [
            int(o["metadata"]["resourceVersion"]) for o in written]
        assert {e.type for e in got} == {"ADDED"}
        listed = await store.list("pods")
        assert len(listed.items) == 31
        await events.aclose()
    finally:
        await store.close()


async def test_no_reachable_member_is_service_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match=r"etcd at 127\.0\.0\.1:") as info:
        await EtcdStore.connect([("127.0.0.1", free_port())], retry_for=0.5)
    assert info.value.code == 503


def test_the_helper_stops_exactly_the_processes_it_started(tmp_path: Path) -> None:
    cluster = EtcdCluster(tmp_path, size=1)
    with cluster:
        member = cluster.members[0]
        assert member.process is not None
        pid = member.process.pid
        os.kill(pid, 0)  # running
    assert cluster.members[0].process is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


class _LoseFirstAnswer:
    """A KV stub whose first Txn is applied by etcd but whose answer is lost."""

    def __init__(self, real: Any, lost: list[int]) -> None:
        self._real = real
        self._lost = lost

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def Txn(self, request: Any, **kw: Any) -> Any:
        resp = await self._real.Txn(request, **kw)
        if not self._lost:
            self._lost.append(1)
            raise grpc.aio.AioRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, grpc.aio.Metadata(),
                                       grpc.aio.Metadata(), "answer lost")
        return resp


async def test_a_write_whose_answer_was_lost_is_not_reported_as_a_conflict(
        etcd_cluster: EtcdCluster, resource: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = await EtcdStore.connect(etcd_cluster.endpoints)
    try:
        real_stub = store._ep.kv_stub
        lost: list[int] = []
        monkeypatch.setattr(store._ep, "kv_stub", lambda: _LoseFirstAnswer(real_stub(), lost))
        created = await store.create(resource, obj("a"))  # applied, answer lost, retried
        assert lost == [1]
        assert created == await store.get(resource, "default", "a")
        lost.clear()
        changed = {**created, "metadata": {**created["metadata"], "labels": {"v": "2"}}}
        updated = await store.update(resource, changed)
        assert lost == [1]
        assert updated == await store.get(resource, "default", "a")
        with pytest.raises(AlreadyExists):  # a genuine second create still fails
            await store.create(resource, obj("a"))
    finally:
        await store.close()
