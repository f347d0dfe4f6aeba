"""Pod status as the kubelet reports it, and the pod -> runtime config translation."""

from __future__ import annotations

import pytest

from berth.node import labels
from berth.node.actions import PodActions
from berth.node.convert import (
    ClusterDNS,
    Sources,
    plan_container_config,
    plan_env,
    plan_sandbox_config,
)
from berth.node.errors import EnvError
from berth.node.podspec import app_containers, qos_class
from berth.node.podstatus import StatusInputs, plan_pod_status
from berth.node.runtime.protocol import ContainerState
from tests.unit.node.test_backoff_and_actions import a_pod, observed, status


def test_status_of_a_running_ready_pod() -> None:
    pod = a_pod(["app"])
    st = plan_pod_status(pod, StatusInputs(
        observed=observed(status("app", ContainerState.RUNNING)),
        actions=PodActions(initialized=True), now=0, host_ip="198.18.0.2"))
    assert st["phase"] == "Running" and st["podIP"] == "10.244.0.5"
    assert {c["type"]: c["status"] for c in st["conditions"]} == {
        "PodScheduled": "True", "PodReadyToStartContainers": "True", "Initialized": "True",
        "ContainersReady": "True", "Ready": "True"}
    app = st["containerStatuses"][0]
    assert app["ready"] and app["started"] and "running" in app["state"]
    assert st["hostIP"] == "198.18.0.2" and st["qosClass"] == "BestEffort"


def test_readiness_verdict_and_waiting_reasons() -> None:
    pod = a_pod(["app", "other"], [("init", False)])
    run = status("app", ContainerState.RUNNING, cid="c1")
    st = plan_pod_status(pod, StatusInputs(
        observed=observed(status("init", ContainerState.EXITED), run),
        actions=PodActions(initialized=True), now=0, host_ip="h", ready={"c1": False},
        start_errors={"other": ("ErrImagePull", 'image "nosuch" not found')}))
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Ready"]["status"] == "False"
    assert conds["Ready"]["reason"] == "ContainersNotReady"
    other = st["containerStatuses"][1]["state"]["waiting"]
    assert other == {"reason": "ErrImagePull", "message": 'image "nosuch" not found'}
    init = st["initContainerStatuses"][0]["state"]["terminated"]
    assert init["reason"] == "Completed" and init["exitCode"] == 0


def test_pending_pod_waits_in_pod_initializing() -> None:
    pod = a_pod(["app"], [("init", False)])
    st = plan_pod_status(pod, StatusInputs(observed=observed(), actions=PodActions(),
                                           now=0, host_ip="h"))
    assert st["phase"] == "Pending"
    assert st["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert st["initContainerStatuses"][0]["state"] == {
        "waiting": {"reason": "ContainerCreating"}}


def test_crash_loop_status_shows_last_state_and_restart_count() -> None:
    pod = a_pod(["app"])
    st = plan_pod_status(pod, StatusInputs(
        observed=observed(status("app", ContainerState.EXITED, 1, attempt=0),
                          status("app", ContainerState.EXITED, 1, attempt=1)),
        actions=PodActions(initialized=True, backoff={"app": "back-off 20s ..."}), now=0,
        host_ip="h"))
    app = st["containerStatuses"][0]
    assert app["restartCount"] == 1
    assert app["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert app["lastState"]["terminated"]["exitCode"] == 1


def test_qos_classes() -> None:
    pod = a_pod(["a"])
    assert qos_class(pod) == "BestEffort"
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "64Mi"}}
    assert qos_class(pod) == "Guaranteed"
    pod["spec"]["containers"][0]["resources"]["requests"] = {"cpu": "500m"}
    assert qos_class(pod) == "Burstable"


def test_env_from_values_field_refs_config_maps_and_secrets() -> None:
    pod = a_pod(["a"])
    c = pod["spec"]["containers"][0]
    c["envFrom"] = [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}]
    c["env"] = [
        {"name": "GREETING", "value": "hi $(CM_mode) $$(X)"},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}},
    ]
    sources = Sources({"cm": {"mode": "fast"}}, {"s": {"pw": b"secret"}})
    env = plan_env(pod, c, sources, node_name="n1", pod_ip="10.244.0.9", host_ip="h")
    assert env == {"CM_mode": "fast", "GREETING": "hi fast $(X)", "IP": "10.244.0.9",
                   "NODE": "n1", "PASS": "secret"}
    c["env"].append({"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm",
                                                                       "key": "nope"}}})
    with pytest.raises(EnvError, match="env X: couldn't find key nope in configmap"):
        plan_env(pod, c, sources, node_name="n1", pod_ip="", host_ip="")


def test_sandbox_and_container_configs() -> None:
    pod = a_pod(["app"])
    pod["spec"]["containers"][0].update(
        command=["sh", "-c"], args=["echo $(WHO)"],
        resources={"limits": {"cpu": "250m", "memory": "32Mi"}})
    sandbox = plan_sandbox_config(pod, log_dir="/logs", cgroup_parent="", dns=ClusterDNS())
    assert sandbox.hostname == "p" and sandbox.labels[labels.POD_UID] == "u1"
    assert sandbox.dns_config is not None
    assert sandbox.dns_config.searches[0] == "default.svc.cluster.local"
    config = plan_container_config(pod, app_containers(pod)[0], attempt=2,
                                   env={"WHO": "me"}, mounts=[])
    assert config.args == ["echo me"] and config.log_path == "app/2.log"
    assert config.metadata.attempt == 2
    assert config.labels[labels.CONTAINER_NAME] == "app"
    assert (config.resources.cpu_quota, config.resources.cpu_period) == (25000, 100000)
    assert config.resources.memory_limit_in_bytes == 32 << 20
