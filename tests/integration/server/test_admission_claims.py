"""Allocation claims on a real SQLite store: atomic claims, release by owner, repair."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from berth.server.admission import Admission
from berth.server.admission.services import IP_KEY, PORT_KEY, ServiceAllocator
from berth.store import Store, open_store

Obj = dict[str, Any]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store("sqlite", tmp_path, compaction=None)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def allocator(store: Store) -> ServiceAllocator:
    return ServiceAllocator(store, ipaddress.ip_network("10.96.0.0/29"), (30000, 32767))


def service(name: str, uid: str, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "uid": uid},
            "spec": {"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}], **spec}}


async def names(store: Store, key: str) -> set[str]:
    return {c["metadata"]["name"] for c in (await store.list(key)).items}


@pytest.mark.parametrize("servers", [1, 2])
async def test_concurrent_allocators_on_one_store_never_share(store: Store, servers: int) -> None:
    # 2: two servers' allocators on one store, each with its own cache of used members
    allocators = [ServiceAllocator(store, ipaddress.ip_network("10.96.0.0/29"), (30000, 32767))
                  for _ in range(servers)]
    created = await asyncio.gather(*(allocators[i % servers].create(service(f"s{i}", f"u{i}"))
                                     for i in range(6)))
    ips = {s["spec"]["clusterIP"] for s in created}
    assert len(ips) == 6
    assert await names(store, IP_KEY) == ips


async def test_release_only_frees_the_owners_claim(store: Store,
                                                    allocator: ServiceAllocator) -> None:
    svc = await allocator.create(service("a", "uid-a", clusterIP="10.96.0.3"))
    impostor = service("a", "uid-other", clusterIP="10.96.0.3")
    await allocator.release(impostor)
    assert await names(store, IP_KEY) == {"10.96.0.3"}
    await allocator.release(svc)
    assert await names(store, IP_KEY) == set()


async def test_repair_frees_stale_claims_and_records_missing_ones(
        store: Store, allocator: ServiceAllocator) -> None:
    kept = await allocator.create(service("kept", "uid-k", type="NodePort",
                                          clusterIP="10.96.0.2",
                                          ports=[{"port": 80, "nodePort": 30500,
                                                  "protocol": "TCP"}]))
    for name, ip in (("gone", "10.96.0.3"), ("orphan", "10.96.0.6")):
        await allocator.create(service(name, f"uid-{name}", clusterIP=ip))
        await store.delete("services", "default", name)  # as if the server died here
    # a Service stored without a claim, holding the IP an orphaned claim names
    await store.create("services", service("old", "uid-old", clusterIP="10.96.0.6"))
    soon = datetime.datetime.now(datetime.UTC)
    assert await allocator.repair(now=soon) == 1  # 10.96.0.6 passes to "old"
    assert await names(store, IP_KEY) == {"10.96.0.2", "10.96.0.3", "10.96.0.6"}
    later = soon + datetime.timedelta(minutes=2)
    assert await allocator.repair(now=later) == 1  # the stale 10.96.0.3 goes
    assert await names(store, IP_KEY) == {kept["spec"]["clusterIP"], "10.96.0.6"}
    assert await names(store, PORT_KEY) == {"30500"}
    claim = await store.get(IP_KEY, "", "10.96.0.6")
    assert claim["spec"]["parentRef"]["name"] == "old"
    assert await allocator.repair(now=later) == 0


async def test_each_admission_uses_its_own_ranges(tmp_path: Path) -> None:
    """Two servers in one process: each one's admission allocates from its own ranges."""
    stores = [await open_store("sqlite", tmp_path / f"s{i}", compaction=None) for i in range(2)]
    try:
        small = Admission(stores[0], ipaddress.ip_network("10.96.0.0/30"), (30000, 30001))
        other = Admission(stores[1], ipaddress.ip_network("10.100.0.0/29"), (31000, 31005))
        a = await small.create("services", service("a", "uid-a", type="NodePort"))
        b = await other.create("services", service("b", "uid-b", type="NodePort"))
        assert ipaddress.ip_address(a["spec"]["clusterIP"]) in small.services.ips.network
        assert b["spec"]["clusterIP"].startswith("10.100.0.")
        assert 30000 <= a["spec"]["ports"][0]["nodePort"] <= 30001
        assert 31000 <= b["spec"]["ports"][0]["nodePort"] <= 31005
        # other kinds pass through to the store unchanged
        ns = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "c", "namespace": "default"}, "data": {"k": "v"}}
        assert (await small.create("configmaps", ns))["data"] == {"k": "v"}
    finally:
        for opened in stores:
            await opened.close()
