"""The proxy on a real kernel: ClusterIP spreading, readiness, affinity, reject, NodePort, hairpin.

Every test runs in namespaces the ``node`` fixture creates and removes; the
proxy programs the node namespace only.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from typing import Any

import pytest

from berth.proxy import Proxier

pytestmark = pytest.mark.root
Obj = dict[str, Any]
CLIENT = 0  # pod p0 is the client; p1..p3 are backends


def service(name: str, ip: str, **spec: Any) -> Obj:
    ports = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080,
              **({"nodePort": spec.pop("node_port")} if "node_port" in spec else {})}]
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": ip, "ports": ports, **spec}}


def slice_(svc: str, ips: list[str], unready: tuple[str, ...] = ()) -> Obj:
    return {"metadata": {"name": f"{svc}-x", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ip not in unready}}
                          for ip in ips]}


def backends(node: Any) -> list[str]:
    return [node.pod_ip(i) for i in (1, 2, 3)]


def test_cluster_ip_spreads_evenly_and_unready_backend_stops_at_once(node: Any) -> None:
    proxy = Proxier("n1", netns=node.node)
    ips = backends(node)
    proxy.sync([service("web", "10.96.0.50")], [slice_("web", ips)])
    client = node.pod_ns(CLIENT)
    counts = Counter(node.request(client, "10.96.0.50", 80) for _ in range(1000))
    assert set(counts) == set(ips), counts
    expected = 1000 / 3
    chi2 = sum((counts[ip] - expected) ** 2 / expected for ip in ips)
    assert chi2 < 13.8, (chi2, counts)  # df=2, p=0.001

    proxy.sync([service("web", "10.96.0.50")], [slice_("web", ips, unready=(ips[0],))])
    after = Counter(node.request(client, "10.96.0.50", 80) for _ in range(200))
    assert ips[0] not in after and set(after) == set(ips[1:]), after


def test_no_ready_endpoint_is_refused_at_once(node: Any) -> None:
    proxy = Proxier("n1", netns=node.node)
    ips = backends(node)
    proxy.sync([service("web", "10.96.0.51", type="NodePort", node_port=30051)],
               [slice_("web", ips, unready=tuple(ips))])
    for ns, ip, port in ((node.pod_ns(CLIENT), "10.96.0.51", 80),
                         (node.ext, "198.18.200.1", 30051),
                         (node.pod_ns(CLIENT), "10.96.0.51", 81)):  # a port it does not have
        start = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            node.request(ns, ip, port, timeout=3)
        assert time.monotonic() - start < 0.5
    # endpoints come back: the same address answers
    proxy.sync([service("web", "10.96.0.51")], [slice_("web", ips)])
    assert node.request(node.pod_ns(CLIENT), "10.96.0.51", 80) in ips


def test_client_ip_affinity_sticks_until_its_timeout(node: Any) -> None:
    proxy = Proxier("n1", netns=node.node)
    ips = backends(node)
    svc = service("web", "10.96.0.52", sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 2}})
    proxy.sync([svc], [slice_("web", ips)])
    client = node.pod_ns(CLIENT)
    seen = {node.request(client, "10.96.0.52", 80) for _ in range(60)}
    assert len(seen) == 1, seen
    # an endpoint change elsewhere in the service keeps the stickiness of the others
    (chosen,) = seen
    others = [ip for ip in ips if ip != chosen]
    proxy.sync([svc], [slice_("web", ips, unready=(others[0],))])
    assert {node.request(client, "10.96.0.52", 80) for _ in range(20)} == {chosen}
    assert _affinity_entries(node.node) == {node.pod_ip(CLIENT)}
    time.sleep(2.5)
    assert _affinity_entries(node.node) == set()


def _affinity_entries(ns: str) -> set[str]:
    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet",
                          "berth"], check=True, capture_output=True).stdout
    found: set[str] = set()
    for item in json.loads(out)["nftables"]:
        s = item.get("set")
        if s and s["name"].startswith("aff-"):
            for elem in s.get("elem", []):
                found.add(elem["elem"]["val"] if isinstance(elem, dict) else elem)
    return found


def test_node_port_answers_on_the_node_address_from_outside(node: Any) -> None:
    proxy = Proxier("n1", netns=node.node)
    ips = backends(node)
    proxy.sync([service("web", "10.96.0.53", type="NodePort", node_port=30053)],
               [slice_("web", ips)])
    answers = {node.request(node.ext, "198.18.200.1", 30053) for _ in range(30)}
    assert answers and answers <= set(ips)


def test_hairpin_pod_reaches_itself_through_its_service(node: Any) -> None:
    proxy = Proxier("n1", netns=node.node)
    me = node.pod_ip(1)
    proxy.sync([service("self", "10.96.0.54")], [slice_("self", [me])])
    assert node.request(node.pod_ns(1), "10.96.0.54", 80) == me


def test_thousand_services_apply_then_change_one(node: Any) -> None:
    proxy = Proxier("n1", netns=node.node)
    services = [service(f"s{i}", f"10.96.{4 + i // 250}.{i % 250 + 1}") for i in range(1000)]
    slices = [slice_(f"s{i}", backends(node)[:2]) for i in range(1000)]
    full = proxy.sync(services, slices)
    assert full.full and full.seconds < 5
    slices[500] = slice_("s500", backends(node))
    one = proxy.sync(services, slices)
    assert not one.full and one.commands < 10
    assert node.request(node.pod_ns(CLIENT), "10.96.6.1", 80) in backends(node)
    proxy.teardown()
    assert subprocess.run(["ip", "netns", "exec", node.node, "nft", "list", "table", "inet",
                           "berth"], capture_output=True).returncode != 0


def test_udp_flow_moves_when_its_backend_goes(node: Any) -> None:
    proxy = Proxier("n1", netns=node.node)
    a, b = node.pod_ip(1), node.pod_ip(2)
    svc = {"metadata": {"name": "u", "namespace": "default"},
           "spec": {"clusterIP": "10.96.0.55",
                    "ports": [{"name": "u", "port": 80, "protocol": "UDP"}]}}

    def udp_slice(ip: str) -> Obj:
        return {"metadata": {"name": "u-x", "namespace": "default",
                             "labels": {"kubernetes.io/service-name": "u"}},
                "addressType": "IPv4", "ports": [{"name": "u", "port": 8080, "protocol": "UDP"}],
                "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}]}

    proxy.sync([svc], [udp_slice(a)])
    client = node.pod_ns(CLIENT)
    assert node.udp_request(client, "10.96.0.55", 80, 40000) == a
    # the flow's conntrack entry still points at a (which still answers): the flush moves it
    result = proxy.sync([svc], [udp_slice(b)])
    assert result.flushes == 1
    assert node.udp_request(client, "10.96.0.55", 80, 40000) == b
