"""Validation of Service, Endpoints, EndpointSlice, DaemonSet and the smaller kinds."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from berth.api.defaults import apply_defaults
from berth.api.validation import validate

DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
           "with an alphabetic character, and end with an alphanumeric character (e.g. "
           "'my-name',  or 'abc-123', regex used for validation is "
           "'[a-z]([-a-z0-9]*[a-z0-9])?')")


def messages(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    obj = copy.deepcopy(obj)
    apply_defaults(obj)
    if old is not None:
        old = copy.deepcopy(old)
        apply_defaults(old)
    return [e.message() for e in validate(obj, old)]


def service(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"}, "spec": base}


SERVICE_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("valid", {}, []),
    ("two named ports", {"ports": [{"name": "http", "port": 80},
                                   {"name": "https", "port": 443, "targetPort": "https"}]}, []),
    ("ports required", {"ports": []}, ["spec.ports: Required value"]),
    ("headless needs no ports", {"ports": [], "clusterIP": "None"}, []),
    ("names required with several ports", {"ports": [{"port": 80}, {"name": "b", "port": 81}]},
     ["spec.ports[0].name: Required value"]),
    ("duplicate names", {"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]},
     ['spec.ports[1].name: Duplicate value: "a"']),
    ("port range", {"ports": [{"port": 0}]},
     ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"]),
    ("protocol", {"ports": [{"port": 80, "protocol": "HTTP"}]},
     ['spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", '
      '"UDP"']),
    ("duplicate port", {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]},
     ['spec.ports[1]: Duplicate value: {"port": 80, "protocol": "TCP"}']),
    ("type", {"type": "Magic"},
     ['spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", '
      '"LoadBalancer", "NodePort"']),
    ("cluster ip syntax", {"clusterIP": "10.96.0.300"},
     ['spec.clusterIP: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. '
      "10.9.8.7 or 2001:db8::ffff)"]),
    ("nodePort with ClusterIP", {"ports": [{"port": 80, "nodePort": 30080}]},
     ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]),
    ("nodePort with NodePort", {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]},
     []),
    ("selector syntax", {"selector": {"app": "we b"}},
     ['spec.selector: Invalid value: "we b": a valid label must be an empty string or consist '
      "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
      "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
      "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
    ("session affinity value", {"sessionAffinity": "Cookie"},
     ['spec.sessionAffinity: Unsupported value: "Cookie": supported values: "ClientIP", '
      '"None"']),
    ("session affinity timeout", {"sessionAffinity": "ClientIP",
                                  "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}},
     ["spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater "
      "than 0 and less than 86400"]),
    ("affinity config without ClientIP", {"sessionAffinityConfig": {"clientIP": {}}},
     ["spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"]),
    ("external name", {"type": "ExternalName", "externalName": "db.example.com.", "ports": []},
     []),
    ("external name required", {"type": "ExternalName", "ports": []},
     ["spec.externalName: Required value"]),
    ("ip families", {"ipFamilies": ["IPv4", "IPv5"]},
     ['spec.ipFamilies[1]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"',
      'spec.ipFamilies: Invalid value: ["IPv4", "IPv5"]: must be single entry when '
      "`ipFamilyPolicy` is 'SingleStack'"]),
    ("target port name", {"ports": [{"port": 80, "targetPort": "Web_Port"}]},
     ['spec.ports[0].targetPort: Invalid value: "Web_Port": must contain only alpha-numeric '
      "characters (a-z, 0-9), and hyphens (-)"]),
]


@pytest.mark.parametrize(("spec", "expected"), [(s, e) for _, s, e in SERVICE_CASES],
                         ids=[c[0] for c in SERVICE_CASES])
def test_service_validation(spec: dict[str, Any], expected: list[str]) -> None:
    assert messages(service(**spec)) == expected


def test_service_name_is_a_dns1035_label() -> None:
    svc = service()
    svc["metadata"]["name"] = "1web"
    assert messages(svc) == [f'metadata.name: Invalid value: "1web": {DNS1035}']


def test_service_cluster_ip_may_not_change() -> None:
    old = service(clusterIP="10.96.0.10")
    new = service(clusterIP="10.96.0.11")
    assert messages(new, old) == [
        'spec.clusterIPs[0]: Invalid value: "10.96.0.11": may not change once set']
    assert messages(service(clusterIP="10.96.0.10"), old) == []


def daemon_set(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}},
                     "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}},
    }
    base.update(spec)
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "kube-system"}, "spec": base}


def test_daemon_set_valid_and_selector_rules() -> None:
    assert messages(daemon_set()) == []
    ds = daemon_set()
    del ds["spec"]["selector"]
    assert messages(ds) == ["spec.selector: Required value"]
    ds = daemon_set(selector={"matchLabels": {"app": "other"}})
    assert messages(ds) == ['spec.template.metadata.labels: Invalid value: {"app": "agent"}: '
                            "`selector` does not match template `labels`"]
    ds = daemon_set(selector={"matchExpressions": [{"key": "app", "operator": "In"}]})
    assert messages(ds) == ["spec.selector.matchExpressions[0].values: Required value: must be "
                            "specified when `operator` is 'In' or 'NotIn'"]


def test_daemon_set_template_is_validated_as_a_pod() -> None:
    ds = daemon_set()
    ds["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = ""
    assert messages(ds) == [
        "spec.template.spec.containers[0].image: Required value",
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
        '"Always"',
    ]


def test_daemon_set_update_strategy_and_selector_immutable() -> None:
    ds = daemon_set(updateStrategy={"type": "RollingUpdate",
                                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}})
    assert messages(ds) == ["spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: "
                            "cannot be 0 when maxSurge is 0"]
    ds = daemon_set(updateStrategy={"type": "Recreate"})
    assert messages(ds) == ['spec.updateStrategy.type: Unsupported value: "Recreate": '
                            'supported values: "RollingUpdate", "OnDelete"']
    old = daemon_set()
    new = daemon_set(selector={"matchLabels": {"app": "agent", "x": "y"}})
    new["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    assert messages(new, old) == ['spec.selector: Invalid value: {"matchLabels": {"app": '
                                  '"agent", "x": "y"}}: field is immutable']


def obj(kind: str, api_version: str = "v1", namespace: str | None = "default",
        **fields: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "x"}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **fields}


def test_namespace_name_and_scope() -> None:
    ns = obj("Namespace", namespace=None)
    assert messages(ns) == []
    ns["metadata"]["name"] = "my.ns"
    assert messages(ns)[0].startswith('metadata.name: Invalid value: "my.ns": a lowercase '
                                      "RFC 1123 label")
    ns = obj("Namespace", namespace="default")
    assert messages(ns) == ["metadata.namespace: Forbidden: not allowed on this type"]


def test_namespaced_kind_requires_namespace_without_defaults() -> None:
    cm = obj("ConfigMap", namespace=None)
    assert [e.message() for e in validate(cm)] == ["metadata.namespace: Required value"]


def test_config_map_and_secret_keys() -> None:
    cm = obj("ConfigMap", data={"ok.key": "v", "bad key": "v"}, binaryData={"ok.key": "AA=="})
    assert messages(cm) == [
        'data[bad key]: Invalid value: "bad key": a valid config key must consist of '
        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
        "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        'binaryData[ok.key]: Invalid value: "ok.key": duplicate of key present in data',
    ]
    secret = obj("Secret", data={"a": "not base64!"})
    [message] = messages(secret)
    assert message.startswith('data[a]: Invalid value: "<secret contents redacted>": illegal '
                              "base64 data")
    tls = obj("Secret", type="kubernetes.io/tls", data={"tls.crt": "AA=="})
    assert messages(tls) == ["data[tls.key]: Required value"]


def test_immutable_config_map() -> None:
    old = obj("ConfigMap", data={"a": "1"}, immutable=True)
    new = obj("ConfigMap", data={"a": "2"}, immutable=True)
    assert messages(new, old) == ["data: Forbidden: field is immutable when `immutable` is set"]


def test_endpoint_slice() -> None:
    good = obj("EndpointSlice", "discovery.k8s.io/v1", addressType="IPv4",
               endpoints=[{"addresses": ["10.244.1.5"], "nodeName": "node-1"}],
               ports=[{"name": "http", "port": 80}])
    assert messages(good) == []
    bad = obj("EndpointSlice", "discovery.k8s.io/v1", addressType="IPv4",
              endpoints=[{"addresses": ["fe80::1"]}, {"addresses": []}],
              ports=[{"name": "http", "port": 80}, {"name": "http", "port": 0}])
    assert messages(bad) == [
        'endpoints[0].addresses[0]: Invalid value: "fe80::1": must be a valid IPv4 address',
        "endpoints[1].addresses: Required value: must contain at least 1 address",
        'ports[1].name: Duplicate value: "http"',
        "ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
    ]
    missing = obj("EndpointSlice", "discovery.k8s.io/v1")
    assert messages(missing) == ["addressType: Required value"]
    other = copy.deepcopy(good)
    other["addressType"] = "IPv6"
    other["endpoints"] = []
    assert messages(other, good) == ['addressType: Invalid value: "IPv6": field is immutable']


def test_endpoints() -> None:
    eps = obj("Endpoints", subsets=[{"addresses": [{"ip": "10.244.0.5"}, {"ip": "x"}],
                                     "ports": [{"port": 80}, {"port": 81}]}])
    assert messages(eps) == [
        'subsets[0].addresses[1].ip: Invalid value: "x": must be a valid IP address, (e.g. '
        "10.9.8.7 or 2001:db8::ffff)",
        "subsets[0].ports[0].name: Required value",
        "subsets[0].ports[1].name: Required value",
    ]


def test_node() -> None:
    node = obj("Node", namespace=None, spec={"podCIDR": "10.244.1.0/24",
                                             "podCIDRs": ["10.244.1.0/24"],
                                             "taints": [{"key": "k", "effect": "Bad"}]})
    assert messages(node) == ['spec.taints[0].effect: Unsupported value: "Bad": supported '
                              'values: "NoExecute", "NoSchedule", "PreferNoSchedule"']
    old = obj("Node", namespace=None, spec={"podCIDRs": ["10.244.1.0/24"]})
    new = obj("Node", namespace=None, spec={"podCIDRs": ["10.244.2.0/24"]})
    assert messages(new, old) == ['spec.podCIDRs: Forbidden: node updates may not change '
                                  'podCIDR except from "" to valid']
    bad = obj("Node", namespace=None, spec={"podCIDRs": ["10.244.1.1/24"]})
    assert messages(bad) == ['spec.podCIDRs[0]: Invalid value: "10.244.1.1/24": must be a '
                             "valid CIDR"]


def test_event_lease_binding() -> None:
    event = obj("Event", involvedObject={"kind": "Pod", "name": "p", "namespace": "other"},
                type="Info")
    assert messages(event) == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
        'type: Unsupported value: "Info": supported values: "Normal", "Warning"',
    ]
    lease = obj("Lease", "coordination.k8s.io/v1", spec={"leaseDurationSeconds": 0,
                                                         "holderIdentity": "node-1"})
    assert messages(lease) == ["spec.leaseDurationSeconds: Invalid value: 0: must be greater "
                               "than 0"]
    binding = obj("Binding", target={"kind": "Pod"})
    assert messages(binding) == [
        'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"',
        "target.name: Required value",
    ]
