"""EndpointSlices and Endpoints in a real server, following pods and readiness."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Cluster = Any
Obj = dict[str, Any]
WEB_PORTS = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


async def slices_of(cluster: Cluster, service: str) -> list[Obj]:
    return list(await cluster.items(cluster.SLICES, "default",
                                    label_selector=f"kubernetes.io/service-name={service}"))


def endpoint_states(slices: list[Obj]) -> dict[str, tuple[bool, bool, bool]]:
    out = {}
    for s in slices:
        for e in s.get("endpoints") or []:
            c = e["conditions"]
            out[e["addresses"][0]] = (c["ready"], c["serving"], c["terminating"])
    return out


def bound_to(cluster: Cluster, name: str, node: str) -> Callable[[], Awaitable[None]]:
    """A check that pod `name` is bound to `node` (a node agent runs only bound pods)."""
    async def check() -> None:
        pod = await cluster.get(cluster.PODS, "default", name)
        assert pod["spec"].get("nodeName") == node
    return check


async def test_slices_follow_pods_and_readiness(cluster: Cluster) -> None:
    svc = await cluster.client.create(cluster.SERVICES, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    await cluster.add_node("n1")
    for name, ip in (("a", "10.244.0.2"), ("b", "10.244.0.3")):
        await cluster.add_pod(name, labels={"app": "web"}, ports=WEB_PORTS)
        await cluster.eventually(bound_to(cluster, name, "n1"))
        await cluster.run_pod("default", name, ip, ready=(name == "a"))
    await cluster.add_pod("unrelated", labels={"app": "db"})
    await cluster.run_pod("default", "unrelated", "10.244.0.9")

    async def two_endpoints() -> list[Obj]:
        slices = await slices_of(cluster, "web")
        assert endpoint_states(slices) == {"10.244.0.2": (True, True, False),
                                           "10.244.0.3": (False, False, False)}
        return slices

    [slice_] = await cluster.eventually(two_endpoints)
    assert slice_["addressType"] == "IPv4"
    assert slice_["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    labels = slice_["metadata"]["labels"]
    assert labels["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert slice_["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
    by_ip = {e["addresses"][0]: e for e in slice_["endpoints"]}
    assert by_ip["10.244.0.2"]["nodeName"] == "n1"
    assert by_ip["10.244.0.2"]["targetRef"]["name"] == "a"

    async def legacy() -> None:
        ep = await cluster.get(cluster.ENDPOINTS, "default", "web")
        [subset] = ep["subsets"]
        assert [a["ip"] for a in subset["addresses"]] == ["10.244.0.2"]
        assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.0.3"]
        assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    await cluster.eventually(legacy)

    await cluster.run_pod("default", "b", "10.244.0.3", ready=True)
    await cluster.client.delete(cluster.PODS, "default", "a")  # bound: it starts terminating

    async def changed() -> None:
        states = endpoint_states(await slices_of(cluster, "web"))
        assert states == {"10.244.0.2": (False, True, True), "10.244.0.3": (True, True, False)}

    await cluster.eventually(changed)
    await cluster.client.delete(cluster.PODS, "default", "a", grace_period=0)

    async def one_left() -> None:
        assert set(endpoint_states(await slices_of(cluster, "web"))) == {"10.244.0.3"}
        ep = await cluster.get(cluster.ENDPOINTS, "default", "web")
        assert [a["ip"] for a in ep["subsets"][0]["addresses"]] == ["10.244.0.3"]

    await cluster.eventually(one_left)

    await cluster.client.delete(cluster.SERVICES, "default", "web")

    async def cleaned_up() -> None:
        assert await slices_of(cluster, "web") == []
        names = [e["metadata"]["name"] for e in await cluster.items(cluster.ENDPOINTS, "default")]
        assert "web" not in names

    await cluster.eventually(cleaned_up)


async def test_named_port_resolving_differently_splits_slices(cluster: Cluster) -> None:
    await cluster.client.create(cluster.SERVICES, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "mixed", "namespace": "default"},
        "spec": {"selector": {"app": "mixed"},
                 "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    await cluster.add_node("n1")
    await cluster.add_pod("old", labels={"app": "mixed"}, nodeName="n1", ports=WEB_PORTS)
    await cluster.add_pod("new", labels={"app": "mixed"}, nodeName="n1",
                          ports=[{"name": "http", "containerPort": 9090, "protocol": "TCP"}])
    await cluster.run_pod("default", "old", "10.244.0.2")
    await cluster.run_pod("default", "new", "10.244.0.3")

    async def split() -> None:
        slices = await slices_of(cluster, "mixed")
        got = {(s.get("ports") or [{}])[0].get("port"): [
            e["addresses"][0] for e in s.get("endpoints") or []] for s in slices}
        assert got == {8080: ["10.244.0.2"], 9090: ["10.244.0.3"]}

    await cluster.eventually(split)


async def test_service_without_selector_is_left_to_the_user(cluster: Cluster) -> None:
    await cluster.client.create(cluster.SERVICES, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "external", "namespace": "default"},
        "spec": {"ports": [{"port": 80}]}})
    await cluster.client.create(cluster.ENDPOINTS, {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "external", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80}]}]})
    await cluster.client.create(cluster.SERVICES, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "empty", "namespace": "default"},
        "spec": {"selector": {"app": "none"}, "ports": [{"port": 80}]}})

    async def placeholder() -> None:
        slices = await slices_of(cluster, "empty")
        assert len(slices) == 1
        assert slices[0].get("endpoints") in (None, [])

    await cluster.eventually(placeholder)
    assert await slices_of(cluster, "external") == []
    ep = await cluster.get(cluster.ENDPOINTS, "default", "external")
    assert ep["subsets"][0]["addresses"] == [{"ip": "127.0.0.1"}]


async def test_deleted_namespace_is_not_refilled(cluster: Cluster) -> None:
    ns_res = cluster.NAMESPACES
    await cluster.client.create(ns_res, {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": "team"}})
    await cluster.client.create(cluster.SERVICES, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "team"},
        "spec": {"selector": {"app": "api"}, "ports": [{"port": 80}]}})
    await cluster.add_pod("api-1", namespace="team", labels={"app": "api"})
    await cluster.run_pod("team", "api-1", "10.244.0.7")

    async def listed() -> None:
        [slice_] = await cluster.items(cluster.SLICES, "team")
        assert [e["addresses"] for e in slice_["endpoints"]] == [["10.244.0.7"]]

    await cluster.eventually(listed)
    await cluster.client.delete(ns_res, None, "team")

    async def gone() -> None:
        names = [n["metadata"]["name"] for n in await cluster.items(ns_res)]
        assert "team" not in names
        assert await cluster.items(cluster.SLICES, "team") == []
        assert await cluster.items(cluster.ENDPOINTS, "team") == []

    await cluster.eventually(gone, timeout=15)
