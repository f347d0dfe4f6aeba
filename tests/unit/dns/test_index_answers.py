"""Cluster DNS answers for every record kind, read from the pure resolver."""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.rcode
import pytest

from berth.dns import BadConfig, build_index, resolv_conf, resolve, respond

Obj = dict[str, Any]


def service(name: str, ns: str = "default", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def eps(svc: str, endpoints: list[Obj], ports: list[Obj], ns: str = "default") -> Obj:
    return {"metadata": {"name": f"{svc}-abc", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports}


def ep(ip: str, ready: bool = True, hostname: str | None = None) -> Obj:
    out: Obj = {"addresses": [ip], "conditions": {"ready": ready}}
    if hostname:
        out["hostname"] = hostname
    return out


SERVICES = [
    service("web", "prod", clusterIP="10.96.0.20",
            ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                   {"name": "dns", "port": 53, "protocol": "UDP"}, {"port": 9000}]),
    service("db", "prod", clusterIP="None", ports=[{"name": "pg", "port": 5432}]),
    service("empty", "prod", clusterIP="None"),
    service("ext", "prod", type="ExternalName", externalName="example.org."),
]
SLICES = [
    eps("db", [ep("10.244.1.5", hostname="db-0"), ep("10.244.2.6"),
               ep("10.244.2.7", ready=False)],
        [{"name": "pg", "port": 5432, "protocol": "TCP"}], ns="prod"),
]
INDEX = build_index(SERVICES, SLICES)


def test_service_a_record_is_its_cluster_ip() -> None:
    answer = resolve(INDEX, "web.prod.svc.cluster.local.", "A")
    assert (answer.rcode, answer.records) == ("NOERROR", [("A", "10.96.0.20")])


def test_names_are_case_insensitive() -> None:
    assert resolve(INDEX, "WEB.Prod.SVC.cluster.LOCAL", "A").records == [("A", "10.96.0.20")]


def test_headless_service_has_one_a_per_ready_endpoint() -> None:
    answer = resolve(INDEX, "db.prod.svc.cluster.local", "A")
    assert sorted(answer.records) == [("A", "10.244.1.5"), ("A", "10.244.2.6")]


def test_headless_endpoint_by_hostname_and_by_dashed_ip() -> None:
    assert resolve(INDEX, "db-0.db.prod.svc.cluster.local", "A").records == [
        ("A", "10.244.1.5")]
    assert resolve(INDEX, "10-244-2-6.db.prod.svc.cluster.local", "A").records == [
        ("A", "10.244.2.6")]
    assert resolve(INDEX, "10-244-2-7.db.prod.svc.cluster.local", "A").rcode == "NXDOMAIN"


def test_srv_for_named_ports_only() -> None:
    assert resolve(INDEX, "_http._tcp.web.prod.svc.cluster.local", "SRV").records == [
        ("SRV", "0 100 80 web.prod.svc.cluster.local.")]
    assert resolve(INDEX, "_dns._udp.web.prod.svc.cluster.local", "SRV").records == [
        ("SRV", "0 100 53 web.prod.svc.cluster.local.")]
    assert resolve(INDEX, "_http._udp.web.prod.svc.cluster.local", "SRV").rcode == "NXDOMAIN"


def test_headless_srv_names_each_endpoint() -> None:
    records = resolve(INDEX, "_pg._tcp.db.prod.svc.cluster.local", "SRV").records
    assert sorted(records) == [
        ("SRV", "0 100 5432 10-244-2-6.db.prod.svc.cluster.local."),
        ("SRV", "0 100 5432 db-0.db.prod.svc.cluster.local.")]


def test_ptr_for_cluster_ip_and_headless_endpoints() -> None:
    assert resolve(INDEX, "20.0.96.10.in-addr.arpa", "PTR").records == [
        ("PTR", "web.prod.svc.cluster.local.")]
    assert resolve(INDEX, "5.1.244.10.in-addr.arpa.", "PTR").records == [
        ("PTR", "db-0.db.prod.svc.cluster.local.")]
    assert resolve(INDEX, "9.9.9.10.in-addr.arpa", "PTR").rcode == "NXDOMAIN"


def test_external_name_is_a_cname() -> None:
    for qtype in ("A", "CNAME", "AAAA"):
        assert resolve(INDEX, "ext.prod.svc.cluster.local", qtype).records == [
            ("CNAME", "example.org.")]


def test_pod_names_decode_their_ip() -> None:
    assert resolve(INDEX, "10-244-3-9.prod.pod.cluster.local", "A").records == [
        ("A", "10.244.3.9")]
    assert resolve(INDEX, "10-244-3-999.prod.pod.cluster.local", "A").rcode == "NXDOMAIN"


def test_missing_names_are_nxdomain_and_other_types_nodata_with_soa() -> None:
    missing = resolve(INDEX, "nope.prod.svc.cluster.local", "A")
    assert (missing.rcode, missing.records, missing.soa_zone) == ("NXDOMAIN", [],
                                                                  "cluster.local")
    nodata = resolve(INDEX, "web.prod.svc.cluster.local", "AAAA")
    assert (nodata.rcode, nodata.records, nodata.soa_zone) == ("NOERROR", [], "cluster.local")
    # a namespace holding services exists (an empty non-terminal)
    assert resolve(INDEX, "prod.svc.cluster.local", "A").rcode == "NOERROR"
    # a headless service without ready endpoints has no records
    assert resolve(INDEX, "empty.prod.svc.cluster.local", "A").rcode == "NXDOMAIN"


def test_names_outside_the_cluster_are_refused() -> None:
    answer = resolve(INDEX, "example.org", "A")
    assert (answer.rcode, answer.authoritative) == ("REFUSED", False)


def test_schema_version_and_soa() -> None:
    assert resolve(INDEX, "dns-version.cluster.local", "TXT").records == [("TXT", '"1.1.0"')]
    assert resolve(INDEX, "cluster.local", "SOA").records[0][0] == "SOA"


def test_other_cluster_domain() -> None:
    index = build_index(SERVICES, SLICES, domain="berth.test.")
    assert resolve(index, "web.prod.svc.berth.test", "A").records == [("A", "10.96.0.20")]
    assert resolve(index, "web.prod.svc.cluster.local", "A").rcode == "REFUSED"


def test_respond_builds_an_authoritative_message_with_glue() -> None:
    query = dns.message.make_query("_pg._tcp.db.prod.svc.cluster.local", "SRV")
    response = respond(INDEX, query)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert len(response.answer[0]) == 2
    glue = {rr.name.to_text(): [r.to_text() for r in rr] for rr in response.additional}
    assert glue["db-0.db.prod.svc.cluster.local."] == ["10.244.1.5"]


def test_respond_nxdomain_carries_soa_in_authority() -> None:
    response = respond(INDEX, dns.message.make_query("nope.svc.cluster.local", "A"))
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.authority[0].name.to_text() == "cluster.local."


def test_resolv_conf_for_cluster_first_pods() -> None:
    assert resolv_conf("prod") == ("nameserver 10.96.0.10\n"
                                   "search prod.svc.cluster.local svc.cluster.local "
                                   "cluster.local\noptions ndots:5\n")
    with pytest.raises(BadConfig, match="dns_ip"):
        resolv_conf("prod", "10.96.0.300")
    with pytest.raises(BadConfig, match="namespace"):
        resolv_conf("")
