"""Allocation claims on a real SQLite store: atomic claims, release by owner, repair."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from berth.controllers.allocators import (
    IP_KEY,
    PORT_KEY,
    configure,
    create_service,
    release_service,
    repair_claims,
)
from berth.controllers.config import ControllerConfig
from berth.store import Store, open_store

Obj = dict[str, Any]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store("sqlite", tmp_path, compaction=None)
    configure(opened, ControllerConfig(service_cidr="10.96.0.0/29"))
    try:
        yield opened
    finally:
        await opened.close()


def service(name: str, uid: str, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "uid": uid},
            "spec": {"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}], **spec}}


async def names(store: Store, key: str) -> set[str]:
    return {c["metadata"]["name"] for c in (await store.list(key)).items}


async def test_concurrent_allocators_on_one_store_never_share(store: Store) -> None:
    created = await asyncio.gather(*(create_service(store, service(f"s{i}", f"u{i}"))
                                     for i in range(6)))
    ips = {s["spec"]["clusterIP"] for s in created}
    assert len(ips) == 6
    assert await names(store, IP_KEY) == ips


async def test_release_only_frees_the_owners_claim(store: Store) -> None:
    svc = await create_service(store, service("a", "uid-a", clusterIP="10.96.0.3"))
    impostor = service("a", "uid-other", clusterIP="10.96.0.3")
    await release_service(store, impostor)
    assert await names(store, IP_KEY) == {"10.96.0.3"}
    await release_service(store, svc)
    assert await names(store, IP_KEY) == set()


async def test_repair_frees_stale_claims_and_records_missing_ones(store: Store) -> None:
    kept = await create_service(store, service("kept", "uid-k", type="NodePort",
                                               clusterIP="10.96.0.2",
                                               ports=[{"port": 80, "nodePort": 30500,
                                                       "protocol": "TCP"}]))
    for name, ip in (("gone", "10.96.0.3"), ("orphan", "10.96.0.6")):
        await create_service(store, service(name, f"uid-{name}", clusterIP=ip))
        await store.delete("services", "default", name)  # as if the server died here
    # a Service stored without a claim, holding the IP an orphaned claim names
    await store.create("services", service("old", "uid-old", clusterIP="10.96.0.6"))
    soon = datetime.datetime.now(datetime.UTC)
    assert await repair_claims(store, now=soon) == 1  # 10.96.0.6 passes to "old"
    assert await names(store, IP_KEY) == {"10.96.0.2", "10.96.0.3", "10.96.0.6"}
    later = soon + datetime.timedelta(minutes=2)
    assert await repair_claims(store, now=later) == 1  # the stale 10.96.0.3 goes
    assert await names(store, IP_KEY) == {kept["spec"]["clusterIP"], "10.96.0.6"}
    assert await names(store, PORT_KEY) == {"30500"}
    claim = await store.get(IP_KEY, "", "10.96.0.6")
    assert claim["spec"]["parentRef"]["name"] == "old"
    assert await repair_claims(store, now=later) == 0
