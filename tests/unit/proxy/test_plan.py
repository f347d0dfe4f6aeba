"""The proxy's pure planning: state from objects, the full table, incremental scripts."""

from __future__ import annotations

from typing import Any

from berth.proxy import (
    ConntrackFlush,
    DNSRedirect,
    Endpoint,
    build_state,
    plan_changes,
    plan_conntrack_flushes,
    plan_ruleset,
)

Obj = dict[str, Any]


def service(name: str, ip: str, ports: list[Obj], ns: str = "default", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": ports, **spec}}


def eps(svc: str, ips: list[str], ports: list[Obj], ready: bool = True, ns: str = "default",
        node: str = "n1") -> Obj:
    return {"metadata": {"name": f"{svc}-x", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": ports,
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}, "nodeName": node}
                          for ip in ips]}


HTTP = [{"name": "http", "port": 80, "protocol": "TCP"}]
HTTP_EP = [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_state_keeps_ready_endpoints_matched_by_port_name() -> None:
    slices = [eps("web", ["10.244.1.3", "10.244.1.2"], HTTP_EP),
              {**eps("web", ["10.244.1.9"], HTTP_EP, ready=False),
               "metadata": {"name": "web-y", "namespace": "default",
                            "labels": {"kubernetes.io/service-name": "web"}}},
              eps("other", ["10.244.1.7"], HTTP_EP)]
    state = build_state([service("web", "10.96.0.5", HTTP)], slices, "n1")
    (sp,) = state.ports.values()
    assert sp.key == "default/web/tcp/http"
    assert sp.endpoints == (Endpoint("10.244.1.2", 8080), Endpoint("10.244.1.3", 8080))


def test_state_leaves_out_what_the_data_path_cannot_serve() -> None:
    services = [service("headless", "None", HTTP),
                service("ext", "", HTTP, type="ExternalName", externalName="x.org"),
                service("v6", "fd00::1", HTTP),
                service("badport", "10.96.0.6", [{"port": 70000}])]
    assert build_state(services, [], "n1").ports == {}


def test_duplicate_nodeport_keeps_the_first_service() -> None:
    ports = [{"name": "http", "port": 80, "nodePort": 30080}]
    state = build_state([service("b", "10.96.0.2", ports, type="NodePort"),
                         service("a", "10.96.0.1", ports, type="NodePort")], [], "n1")
    assert state.ports["default/a/tcp/http"].node_port == 30080
    assert state.ports["default/b/tcp/http"].node_port == 0


def test_internal_traffic_policy_local_keeps_this_nodes_endpoints() -> None:
    slices = [eps("web", ["10.244.1.2"], HTTP_EP, node="n1"),
              {**eps("web", ["10.244.2.2"], HTTP_EP, node="n2"),
               "metadata": {"name": "web-2", "namespace": "default",
                            "labels": {"kubernetes.io/service-name": "web"}}}]
    svc = service("web", "10.96.0.5", HTTP, internalTrafficPolicy="Local")
    (sp,) = build_state([svc], slices, "n2").ports.values()
    assert [e.ip for e in sp.endpoints] == ["10.244.2.2"]


def test_full_ruleset_dispatches_balances_and_dnats() -> None:
    script = plan_ruleset([service("web", "10.96.0.5", HTTP)],
                          [eps("web", ["10.244.1.2", "10.244.1.3"], HTTP_EP)], "n1")
    lines = script.splitlines()
    assert lines[:3] == ["add table inet berth", "delete table inet berth",
                         "add table inet berth"]
    assert ("add element inet berth service-ips { 10.96.0.5 . tcp . 80 : "
            "goto svc-default/web/tcp/http }") in lines
    # uniform choice: the first of two endpoints with probability 1/2, else the second
    assert [line for line in lines if line.startswith("add rule inet berth svc-")] == [
        "add rule inet berth svc-default/web/tcp/http numgen random mod 2 0 "
        "goto ep-default/web/tcp/http/10.244.1.2/8080",
        "add rule inet berth svc-default/web/tcp/http "
        "goto ep-default/web/tcp/http/10.244.1.3/8080"]
    assert ("add rule inet berth ep-default/web/tcp/http/10.244.1.3/8080 "
            "meta l4proto tcp dnat ip to 10.244.1.3:8080") in lines
    # hairpin: only a backend reaching itself is marked, and only marked packets masquerade
    assert ("add rule inet berth ep-default/web/tcp/http/10.244.1.3/8080 "
            "ip saddr 10.244.1.3 jump mark-for-masquerade") in lines
    assert ("add rule inet berth nat-postrouting meta mark & 0x4000 == 0x4000 masquerade"
            in lines)
    assert sum("masquerade" in line and "add rule" in line and "postrouting" in line
               for line in lines) == 1


def test_client_ip_affinity_uses_timed_sets() -> None:
    svc = service("web", "10.96.0.5", HTTP, sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    script = plan_ruleset([svc], [eps("web", ["10.244.1.2"], HTTP_EP)], "n1")
    aff = "aff-default/web/tcp/http/10.244.1.2/8080"
    assert (f"add set inet berth {aff} {{ type ipv4_addr; flags dynamic,timeout; "
            "timeout 60s; }") in script
    assert f"update @{aff} {{ ip saddr }}" in script
    assert f"svc-default/web/tcp/http ip saddr @{aff} goto ep-" in script


def test_no_ready_endpoint_is_rejected_not_dropped() -> None:
    svc = service("web", "10.96.0.5", [{"name": "http", "port": 80, "nodePort": 30080}],
                  type="NodePort")
    script = plan_ruleset([svc], [eps("web", ["10.244.1.2"], HTTP_EP, ready=False)], "n1")
    assert ("add element inet berth no-endpoint-services "
            "{ 10.96.0.5 . tcp . 80 : goto reject-chain }") in script
    assert ("add element inet berth no-endpoint-nodeports "
            "{ tcp . 30080 : goto reject-chain }") in script
    assert "service-ips {" not in script.split("add map", 5)[-1]
    assert "meta l4proto tcp reject with tcp reset" in script


def test_dns_service_ip_redirects_to_the_local_listener() -> None:
    script = plan_ruleset([], [], "n1", dns=DNSRedirect("10.96.0.10", 53, 5353))
    assert "redirect to :5353" in script
    assert "10.96.0.10 . udp . 53 : goto dns-redirect" in script


def _two_services() -> tuple[list[Obj], list[Obj]]:
    services = [service("a", "10.96.0.1", HTTP, sessionAffinity="ClientIP"),
                service("b", "10.96.0.2", HTTP)]
    slices = [eps("a", ["10.244.1.2", "10.244.1.3"], HTTP_EP),
              eps("b", ["10.244.1.4"], HTTP_EP)]
    return services, slices


def test_no_change_gives_an_empty_script() -> None:
    services, slices = _two_services()
    state = build_state(services, slices, "n1")
    assert plan_changes(state, build_state(services, slices, "n1")) == ""


def test_one_endpoint_gone_touches_only_that_service_and_endpoint() -> None:
    services, slices = _two_services()
    old = build_state(services, slices, "n1")
    slices[0] = eps("a", ["10.244.1.2"], HTTP_EP)
    script = plan_changes(old, build_state(services, slices, "n1"))
    lines = script.splitlines()
    assert all("default/a/" in line for line in lines), script
    assert "delete chain inet berth ep-default/a/tcp/http/10.244.1.3/8080" in lines
    assert "delete set inet berth aff-default/a/tcp/http/10.244.1.3/8080" in lines
    # the surviving endpoint keeps its chain and affinity set (clients stay stuck to it)
    assert not any("10.244.1.2/8080" in line and ("delete" in line or "add chain" in line)
                   for line in lines)
    assert lines[0] == "flush chain inet berth svc-default/a/tcp/http"
    assert "add table" not in script and "element" not in script


def test_service_losing_all_endpoints_moves_to_the_reject_map() -> None:
    services, slices = _two_services()
    old = build_state(services, slices, "n1")
    lines = plan_changes(old, build_state(services, slices[:1], "n1")).splitlines()
    assert lines[0] == ("delete element inet berth service-ips "
                        "{ 10.96.0.2 . tcp . 80 : goto svc-default/b/tcp/http }")
    assert lines[-1] == ("add element inet berth no-endpoint-services "
            "{ 10.96.0.2 . tcp . 80 : goto reject-chain }")
    assert all("default/b/" in line or "reject-chain" in line for line in lines)


def test_removed_service_is_deleted_after_its_references() -> None:
    services, slices = _two_services()
    old = build_state(services, slices, "n1")
    lines = plan_changes(old, build_state(services[:1], slices, "n1")).splitlines()
    assert lines.index("flush chain inet berth svc-default/b/tcp/http") < lines.index(
        "delete chain inet berth ep-default/b/tcp/http/10.244.1.4/8080")
    assert lines[0].startswith("delete element inet berth service-ips")


def test_udp_endpoints_that_go_get_their_flows_flushed() -> None:
    udp = [{"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}]
    udp_ep = [{"name": "dns", "port": 5353, "protocol": "UDP"}]
    svc = service("d", "10.96.0.9", udp, type="NodePort")
    old = build_state([svc], [eps("d", ["10.244.1.2", "10.244.1.3"], udp_ep)], "n1")
    new = build_state([svc], [eps("d", ["10.244.1.3"], udp_ep)], "n1")
    assert plan_conntrack_flushes(old, new) == [ConntrackFlush(None, 30053, "10.244.1.2"),
                                                ConntrackFlush("10.96.0.9", 53, "10.244.1.2")]
    empty = build_state([svc], [], "n1")
    assert plan_conntrack_flushes(empty, new) == [ConntrackFlush("10.96.0.9", 53, None)]
    tcp_old, tcp_new = (build_state(*_two_services(), "n1"),
                        build_state(_two_services()[0], [], "n1"))
    assert plan_conntrack_flushes(tcp_old, tcp_new) == []


def test_node_port_added_and_removed_incrementally() -> None:
    services, slices = _two_services()
    plain = build_state(services, slices, "n1")
    services[1] = service("b", "10.96.0.2", [{"name": "http", "port": 80, "nodePort": 30002}],
                          type="NodePort")
    with_np = build_state(services, slices, "n1")
    added = plan_changes(plain, with_np).splitlines()
    assert "add chain inet berth np-default/b/tcp/http" in added
    assert added[-1] == ("add element inet berth service-nodeports "
                         "{ tcp . 30002 : goto np-default/b/tcp/http }")
    removed = plan_changes(with_np, plain).splitlines()
    assert removed[0] == ("delete element inet berth service-nodeports "
                          "{ tcp . 30002 : goto np-default/b/tcp/http }")
    assert "delete chain inet berth np-default/b/tcp/http" in removed


def test_memo_reuses_unchanged_services_and_sees_replaced_ones() -> None:
    services, slices = _two_services()
    memo: dict = {}
    first = build_state(services, slices, "n1", memo=memo)
    assert build_state(services, slices, "n1", memo=memo) == first
    slices[1] = eps("b", ["10.244.1.4", "10.244.1.5"], HTTP_EP)
    again = build_state(services, slices, "n1", memo=memo)
    assert len(again.ports["default/b/tcp/http"].endpoints) == 2
    assert again.ports["default/a/tcp/http"] is first.ports["default/a/tcp/http"]


def test_cluster_ips_set_follows_services_so_unknown_ports_are_rejected() -> None:
    services, slices = _two_services()
    script = plan_ruleset(services, slices, "n1")
    assert "add element inet berth cluster-ips { 10.96.0.1, 10.96.0.2 }" in script
    assert "add rule inet berth services ip daddr @cluster-ips jump reject-chain" in script
    old = build_state(services, slices, "n1")
    lines = plan_changes(old, build_state(services[:1], slices, "n1")).splitlines()
    assert lines[-1] == "delete element inet berth cluster-ips { 10.96.0.2 }"
