"""Pod validation: Kubernetes' rules, field paths and exact messages."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from berth.api.defaults import apply_defaults
from berth.api.errors import Invalid
from berth.api.validation import validate, validate_or_raise

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
             "characters, '-' or '.', and must start and end with an alphanumeric character "
             "(e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
         "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
         "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
NOT_FOR_INIT = "may not be set for init containers without restartPolicy=Always"


def base_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "containers": [{
                "name": "app", "image": "nginx:1.25",
                "ports": [{"name": "http", "containerPort": 80}],
                "volumeMounts": [{"name": "logs", "mountPath": "/var/log"}],
                "readinessProbe": {"httpGet": {"port": "http"}},
                "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}},
                "env": [{"name": "MODE", "value": "x"}],
            }, {
                "name": "sidecar", "image": "busybox",
                "volumeMounts": [{"name": "logs", "mountPath": "/var/log"}],
            }],
            "volumes": [{"name": "logs", "emptyDir": {}}],
        },
    }


def messages(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    obj = copy.deepcopy(obj)
    apply_defaults(obj)
    if old is not None:
        old = copy.deepcopy(old)
        apply_defaults(old)
    return [e.message() for e in validate(obj, old)]


def test_base_pod_is_valid() -> None:
    assert messages(base_pod()) == []


def test_seed_manifest_reports_name_and_missing_containers() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "pod_name", "labels": {"app": "label_tag", "type": "front-end"}},
           "spec": {}}
    apply_defaults(pod)
    with pytest.raises(Invalid) as info:
        validate_or_raise(pod)
    assert info.value.message == (
        f'Pod "pod_name" is invalid: [metadata.name: Invalid value: "pod_name": {SUBDOMAIN}, '
        "spec.containers: Required value]")
    assert info.value.code == 422


Mutate = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutate:
    def mutate(pod: dict[str, Any]) -> None:
        target: Any = pod
        steps = path.split(".")
        for step in steps[:-1]:
            target = target[int(step)] if step.isdigit() else target[step]
        last = steps[-1]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return mutate


def _del(path: str) -> Mutate:
    def mutate(pod: dict[str, Any]) -> None:
        target: Any = pod
        steps = path.split(".")
        for step in steps[:-1]:
            target = target[int(step)] if step.isdigit() else target[step]
        del target[steps[-1]]
    return mutate


def _generate_name(pod: dict[str, Any]) -> None:
    pod["metadata"]["generateName"] = pod["metadata"].pop("name") + "-"


CASES: list[tuple[str, Mutate, list[str]]] = [
    ("no name", _del("metadata.name"),
     ["metadata.name: Required value: name or generateName is required"]),
    ("generateName instead of name", _generate_name, []),
    ("bad namespace", _set("metadata.namespace", "Team_A"),
     [f'metadata.namespace: Invalid value: "Team_A": {LABEL}']),
    ("bad label value", _set("metadata.labels", {"app": "-x"}),
     ['metadata.labels: Invalid value: "-x": a valid label must be an empty string or consist '
      "of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
      "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
    ("bad label key", _set("metadata.labels", {"a/b/c": "x"}),
     ['metadata.labels: Invalid value: "a/b/c": a qualified name must consist of alphanumeric '
      "characters, '-', '_' or '.', and must start and end with an alphanumeric character "
      "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and "
      "'/' (e.g. 'example.com/MyName')"]),
    ("empty containers", _set("spec.containers", []), ["spec.containers: Required value"]),
    ("container name", _set("spec.containers.1.name", "Side_Car"),
     [f'spec.containers[1].name: Invalid value: "Side_Car": {LABEL}']),
    ("duplicate container", _set("spec.containers.1.name", "app"),
     ['spec.containers[1].name: Duplicate value: "app"']),
    ("init name clashes", _set("spec.initContainers", [{"name": "app", "image": "x"}]),
     ['spec.initContainers[0].name: Duplicate value: "app"']),
    ("missing image", _del("spec.containers.1.image"),
     ["spec.containers[1].image: Required value"]),
    ("port range", _set("spec.containers.0.ports", [{"containerPort": 70000, "hostPort": -1}]),
     ["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and "
      "65535, inclusive",
      "spec.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, "
      "inclusive"]),
    ("port zero", _set("spec.containers.0.ports", [{"containerPort": 0}]),
     ["spec.containers[0].ports[0].containerPort: Required value"]),
    ("port name", _set("spec.containers.0.ports", [{"name": "HTTP--web-is-too-long",
                                                    "containerPort": 80}]),
     ['spec.containers[0].ports[0].name: Invalid value: "HTTP--web-is-too-long": must be no '
      "more than 15 characters",
      'spec.containers[0].ports[0].name: Invalid value: "HTTP--web-is-too-long": must contain '
      "only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
      'spec.containers[0].ports[0].name: Invalid value: "HTTP--web-is-too-long": must not '
      "contain consecutive hyphens"]),
    ("duplicate port name", _set("spec.containers.0.ports", [
        {"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}]),
     ['spec.containers[0].ports[1].name: Duplicate value: "http"']),
    ("protocol", _set("spec.containers.0.ports", [{"containerPort": 80, "protocol": "tcp"}]),
     ['spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: '
      '"SCTP", "TCP", "UDP"']),
    ("single host port", _set("spec.containers.1.ports", [{"containerPort": 80,
                                                             "hostPort": 8080}]),
     []),
    ("restart policy", _set("spec.restartPolicy", "Sometimes"),
     ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
      '"OnFailure", "Never"']),
    ("dns policy", _set("spec.dnsPolicy", "Other"),
     ['spec.dnsPolicy: Unsupported value: "Other": supported values: '
      '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"']),
    ("dns none needs config", _set("spec.dnsPolicy", "None"),
     ["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"]),
    ("grace period", _set("spec.terminationGracePeriodSeconds", -1),
     ["spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal "
      "to 0"]),
    ("node name", _set("spec.nodeName", "Node_1"),
     [f'spec.nodeName: Invalid value: "Node_1": {SUBDOMAIN}']),
    ("mount of missing volume", _set("spec.containers.1.volumeMounts",
                                     [{"name": "x", "mountPath": "/x"}]),
     ['spec.containers[1].volumeMounts[0].name: Not found: "x"']),
    ("mount path required and unique", _set("spec.containers.0.volumeMounts", [
        {"name": "logs", "mountPath": "/a"}, {"name": "logs", "mountPath": "/a"},
        {"name": "logs", "mountPath": ""}]),
     ['spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/a": must be unique',
      "spec.containers[0].volumeMounts[2].mountPath: Required value"]),
    ("volume with two sources", _set("spec.volumes", [
        {"name": "logs", "emptyDir": {}, "hostPath": {"path": "/tmp"}}]),
     ["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
      'spec.containers[0].volumeMounts[0].name: Not found: "logs"',
      'spec.containers[1].volumeMounts[0].name: Not found: "logs"']),
    ("duplicate volume", _set("spec.volumes", [{"name": "logs", "emptyDir": {}},
                                               {"name": "logs", "emptyDir": {}}]),
     ['spec.volumes[1].name: Duplicate value: "logs"']),
    ("volume name", _set("spec.volumes", [{"name": "Logs", "emptyDir": {}}]),
     [f'spec.volumes[0].name: Invalid value: "Logs": {LABEL}',
      'spec.containers[0].volumeMounts[0].name: Not found: "logs"',
      'spec.containers[1].volumeMounts[0].name: Not found: "logs"']),
    ("hostPath needs a path", _set("spec.volumes", [{"name": "logs", "hostPath": {"path": ""}}]),
     ["spec.volumes[0].hostPath.path: Required value",
      'spec.containers[0].volumeMounts[0].name: Not found: "logs"',
      'spec.containers[1].volumeMounts[0].name: Not found: "logs"']),
    ("two probe handlers", _set("spec.containers.0.readinessProbe", {
        "httpGet": {"port": 80}, "tcpSocket": {"port": 80}}),
     ["spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 "
      "handler type"]),
    ("no probe handler", _set("spec.containers.0.livenessProbe", {"periodSeconds": 3}),
     ["spec.containers[0].livenessProbe: Required value: must specify a handler type"]),
    ("liveness success threshold", _set("spec.containers.0.livenessProbe", {
        "exec": {"command": ["true"]}, "successThreshold": 2}),
     ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]),
    ("readiness grace", _set("spec.containers.0.readinessProbe", {
        "exec": {"command": ["true"]}, "terminationGracePeriodSeconds": 5}),
     ["spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: "
      "must not be set for readinessProbes"]),
    ("negative probe timing", _set("spec.containers.0.readinessProbe", {
        "exec": {"command": ["true"]}, "periodSeconds": -1}),
     ["spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater "
      "than or equal to 0"]),
    ("exec without command", _set("spec.containers.0.readinessProbe", {"exec": {}}),
     ["spec.containers[0].readinessProbe.exec.command: Required value"]),
    ("restartPolicy on a regular container", _set("spec.containers.0.restartPolicy", "Always"),
     ["spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"]),
    ("init container restartPolicy", _set("spec.initContainers", [
        {"name": "init", "image": "x", "restartPolicy": "Never"}]),
     ['spec.initContainers[0].restartPolicy: Unsupported value: "Never": supported values: '
      '"Always"']),
    ("probe on plain init container", _set("spec.initContainers", [
        {"name": "init", "image": "x", "readinessProbe": {"exec": {"command": ["a"]}},
         "lifecycle": {"preStop": {"exec": {"command": ["a"]}}}}]),
     [f"spec.initContainers[0].lifecycle: Forbidden: {NOT_FOR_INIT}",
      f"spec.initContainers[0].readinessProbe: Forbidden: {NOT_FOR_INIT}"]),
    ("sidecar init container with probes", _set("spec.initContainers", [
        {"name": "proxy", "image": "x", "restartPolicy": "Always",
         "startupProbe": {"tcpSocket": {"port": 15000}},
         "lifecycle": {"postStart": {"exec": {"command": ["a"]}}}}]),
     []),
    ("sidecar startup probe threshold", _set("spec.initContainers", [
        {"name": "proxy", "image": "x", "restartPolicy": "Always",
         "startupProbe": {"tcpSocket": {"port": 15000}, "successThreshold": 3}}]),
     ["spec.initContainers[0].startupProbe.successThreshold: Invalid value: 3: must be 1"]),
    ("lifecycle without handler", _set("spec.containers.0.lifecycle", {"preStop": {}}),
     ["spec.containers[0].lifecycle.preStop: Required value: must specify a handler type"]),
    ("requests above limits", _set("spec.containers.0.resources", {
        "requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}),
     ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal '
      "to cpu limit of 1500m"]),
    ("bad quantity", _set("spec.containers.0.resources", {"limits": {"memory": "1Gb"}}),
     ['spec.containers[0].resources.limits[memory]: Invalid value: "1Gb": quantities must '
      "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      'spec.containers[0].resources.requests[memory]: Invalid value: "1Gb": quantities must '
      "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]),
    ("unknown resource name", _set("spec.containers.0.resources", {"limits": {"gpu": "1"}}),
     ['spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard '
      "resource for containers",
      'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard '
      "resource for containers"]),
    ("extended resources must be equal", _set("spec.containers.0.resources", {
        "limits": {"example.com/dev": "2"}, "requests": {"example.com/dev": "1"}}),
     ['spec.containers[0].resources.requests: Invalid value: "1": must be equal to '
      "example.com/dev limit of 2"]),
    ("env name", _set("spec.containers.0.env", [{"name": "1BAD"}, {"name": ""}]),
     ['spec.containers[0].env[0].name: Invalid value: "1BAD": a valid environment variable '
      "name must consist of alphabetic characters, digits, '_', '-', or '.', and must not "
      "start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex "
      "used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
      "spec.containers[0].env[1].name: Required value"]),
    ("image pull policy", _set("spec.containers.0.imagePullPolicy", "Sometimes"),
     ['spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: '
      '"Always", "IfNotPresent", "Never"']),
    ("active deadline", _set("spec.activeDeadlineSeconds", 0),
     ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, "
      "inclusive"]),
]


@pytest.mark.parametrize(("mutate", "expected"), [(m, e) for _, m, e in CASES],
                         ids=[c[0] for c in CASES])
def test_pod_validation(mutate: Mutate, expected: list[str]) -> None:
    pod = base_pod()
    mutate(pod)
    assert messages(pod) == expected


def test_host_port_conflict_across_containers() -> None:
    pod = base_pod()
    pod["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    pod["spec"]["containers"][1]["ports"] = [{"containerPort": 81, "hostPort": 8080}]
    assert messages(pod) == ['spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"']


def test_host_network_needs_matching_host_ports() -> None:
    pod = base_pod()
    pod["spec"]["hostNetwork"] = True
    assert messages(pod) == []
    pod["spec"]["containers"][0]["ports"][0]["hostPort"] = 8080
    assert messages(pod) == ["spec.containers[0].ports[0].hostPort: Invalid value: 8080: must "
                             "match `containerPort` when `hostNetwork` is true"]


def test_wrong_types_stop_validation() -> None:
    pod = base_pod()
    pod["spec"]["containers"] = "nginx"
    assert messages(pod) == ['spec.containers: Invalid value: "string": spec.containers in body '
                             'must be of type array: "string"']


def test_unknown_kind_and_missing_type_fields() -> None:
    assert [e.message() for e in validate({"kind": "Pod"})] == ["apiVersion: Required value"]
    assert [e.message() for e in validate({"apiVersion": "v1", "kind": "Deployment"})] == [
        'kind: Invalid value: "Deployment": no kind "Deployment" is registered for version "v1"']


# --- updates -------------------------------------------------------------------------

def test_pod_update_may_change_image() -> None:
    old = base_pod()
    new = base_pod()
    new["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert messages(new, old) == []


def test_pod_update_may_not_change_other_fields() -> None:
    old = base_pod()
    new = base_pod()
    new["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080
    [message] = messages(new, old)
    assert message.startswith(
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
        "`spec.tolerations` (only additions to existing tolerations),"
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
        "negative)\n")
    assert "spec.containers[0].ports[0].containerPort: 80" in message
    assert "spec.containers[0].ports[0].containerPort: 8080" in message


def test_pod_update_container_count_and_immutable_metadata() -> None:
    old = base_pod()
    new = base_pod()
    new["spec"]["containers"].pop()
    new["metadata"]["name"] = "other"
    assert messages(new, old) == [
        'metadata.name: Invalid value: "other": field is immutable',
        "spec.containers: Forbidden: pod updates may not add or remove containers",
    ]


def test_pod_update_tolerations_only_added_and_deadline_only_lowered() -> None:
    old = base_pod()
    old["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
    old["spec"]["activeDeadlineSeconds"] = 100
    new = copy.deepcopy(old)
    new["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
    new["spec"]["activeDeadlineSeconds"] = 50
    assert messages(new, old) == []
    new["spec"]["tolerations"] = [{"key": "b", "operator": "Exists"}]
    new["spec"]["activeDeadlineSeconds"] = 200
    assert messages(new, old) == [
        "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to "
        "previous value",
        "spec.tolerations[0]: Forbidden: existing toleration can not be modified except its "
        "tolerationSeconds",
    ]


def test_pod_update_uid_immutable() -> None:
    old = base_pod()
    old["metadata"]["uid"] = "1"
    new = copy.deepcopy(old)
    new["metadata"]["uid"] = "2"
    assert messages(new, old) == ['metadata.uid: Invalid value: "2": field is immutable']
