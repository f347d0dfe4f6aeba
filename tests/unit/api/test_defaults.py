"""Defaulting fills what Kubernetes fills, and only that, idempotently."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from berth.api.defaults import apply_defaults, image_pull_policy


def make_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {
            "containers": [{
                "name": "app", "image": "nginx:1.25",
                "ports": [{"containerPort": 80}],
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1m"}},
                "readinessProbe": {"httpGet": {"port": 80}},
                "livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5},
                "env": [{"name": "NODE",
                         "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            }],
            "initContainers": [{"name": "init", "image": "busybox"}],
            "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "c"}},
                        {"name": "s", "secret": {"secretName": "s", "defaultMode": 256}}],
        },
    }


def test_pod_defaults() -> None:
    pod = make_pod()
    apply_defaults(pod)
    spec = pod["spec"]
    assert pod["metadata"]["namespace"] == "default"
    assert {k: spec[k] for k in ("restartPolicy", "terminationGracePeriodSeconds", "dnsPolicy",
                                 "schedulerName", "securityContext", "enableServiceLinks")} == {
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
        "securityContext": {}, "enableServiceLinks": True}
    app = spec["containers"][0]
    assert app["imagePullPolicy"] == "IfNotPresent"
    assert app["terminationMessagePath"] == "/dev/termination-log"
    assert app["terminationMessagePolicy"] == "File"
    assert app["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert app["resources"]["requests"] == {"cpu": "1m", "memory": "1Gi"}
    assert app["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
        "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert app["livenessProbe"]["periodSeconds"] == 5
    assert app["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    init = spec["initContainers"][0]
    assert init["imagePullPolicy"] == "Always"
    assert init["resources"] == {}
    assert spec["volumes"] == [
        {"name": "scratch", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}},
        {"name": "s", "secret": {"secretName": "s", "defaultMode": 256}},
    ]


def test_defaults_are_idempotent_and_keep_user_values() -> None:
    pod = make_pod()
    pod["metadata"]["namespace"] = "team"
    pod["spec"]["restartPolicy"] = "Never"
    apply_defaults(pod)
    once = copy.deepcopy(pod)
    apply_defaults(pod)
    assert pod == once
    assert pod["metadata"]["namespace"] == "team"
    assert pod["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v1", "IfNotPresent"),
    ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
])
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_host_network_copies_container_port_to_host_port() -> None:
    pod = make_pod()
    pod["spec"]["hostNetwork"] = True
    apply_defaults(pod)
    assert pod["spec"]["containers"][0]["ports"][0]["hostPort"] == 80


def test_service_defaults() -> None:
    svc: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                           "spec": {"selector": {"app": "web"},
                                    "ports": [{"port": 80}, {"port": 443, "targetPort": "https",
                                                             "protocol": "UDP"}]}}
    apply_defaults(svc)
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80},
                             {"port": 443, "targetPort": "https", "protocol": "UDP"}]
    assert "externalTrafficPolicy" not in spec


def test_service_client_ip_and_node_port_defaults() -> None:
    svc: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                           "spec": {"type": "NodePort", "sessionAffinity": "ClientIP",
                                    "ports": [{"port": 80}]}}
    apply_defaults(svc)
    assert svc["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert svc["spec"]["externalTrafficPolicy"] == "Cluster"


def test_external_name_service_gets_no_ip_families() -> None:
    svc: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                           "spec": {"type": "ExternalName", "externalName": "example.com"}}
    apply_defaults(svc)
    assert "ipFamilies" not in svc["spec"] and "internalTrafficPolicy" not in svc["spec"]


def test_daemon_set_defaults_include_the_pod_template() -> None:
    ds: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "a"},
                          "spec": {"template": {"spec": {"containers": [{"name": "c",
                                                                         "image": "i:1"}]}}}}
    apply_defaults(ds)
    assert ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["spec"]["revisionHistoryLimit"] == 10
    assert ds["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert ds["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "namespace" not in ds["spec"]["template"].get("metadata", {})


def test_cluster_scoped_and_other_kinds() -> None:
    ns: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    apply_defaults(ns)
    assert "namespace" not in ns["metadata"]
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    node: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                            "status": {"capacity": {"cpu": "2"}}}
    apply_defaults(node)
    assert node["status"]["allocatable"] == {"cpu": "2"}
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    apply_defaults(secret)
    assert secret["type"] == "Opaque"
    unknown: dict[str, Any] = {"apiVersion": "x/v1", "kind": "Thing"}
    apply_defaults(unknown)
    assert unknown == {"apiVersion": "x/v1", "kind": "Thing"}


def test_defaults_tolerate_wrong_types() -> None:
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                           "spec": {"containers": "nope", "volumes": [1]}}
    apply_defaults(pod)
    assert pod["spec"]["containers"] == "nope"
