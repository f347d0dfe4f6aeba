"""Objects built with the official Kubernetes client pass berth's decoding and validation."""

from __future__ import annotations

from typing import Any

import pytest

from berth.api.decode import unknown_fields
from berth.api.defaults import apply_defaults
from berth.api.validation import validate

k8s = pytest.importorskip("kubernetes.client")


def serialize(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = k8s.ApiClient().sanitize_for_serialization(model)
    return data


def test_pod_from_official_client() -> None:
    pod = k8s.V1Pod(
        api_version="v1", kind="Pod",
        metadata=k8s.V1ObjectMeta(name="web", labels={"app": "web"}),
        spec=k8s.V1PodSpec(
            init_containers=[k8s.V1Container(name="proxy", image="envoy:1",
                                             restart_policy="Always")],
            containers=[k8s.V1Container(
                name="app", image="nginx:1.25",
                ports=[k8s.V1ContainerPort(container_port=80, name="http")],
                resources=k8s.V1ResourceRequirements(limits={"cpu": "500m", "memory": "64Mi"}),
                liveness_probe=k8s.V1Probe(http_get=k8s.V1HTTPGetAction(port="http")),
                volume_mounts=[k8s.V1VolumeMount(name="data", mount_path="/data")],
                env=[k8s.V1EnvVar(name="POD_IP", value_from=k8s.V1EnvVarSource(
                    field_ref=k8s.V1ObjectFieldSelector(field_path="status.podIP")))],
            )],
            volumes=[k8s.V1Volume(name="data", empty_dir=k8s.V1EmptyDirVolumeSource(
                size_limit="1Gi"))],
            tolerations=[k8s.V1Toleration(key="k", operator="Exists", effect="NoSchedule")],
        ),
    )
    obj = serialize(pod)
    assert unknown_fields(obj) == []
    apply_defaults(obj)
    assert validate(obj) == []


def test_service_and_daemon_set_from_official_client() -> None:
    svc = serialize(k8s.V1Service(
        api_version="v1", kind="Service", metadata=k8s.V1ObjectMeta(name="web"),
        spec=k8s.V1ServiceSpec(selector={"app": "web"},
                               ports=[k8s.V1ServicePort(port=80, target_port="http")])))
    ds = serialize(k8s.V1DaemonSet(
        api_version="apps/v1", kind="DaemonSet", metadata=k8s.V1ObjectMeta(name="agent"),
        spec=k8s.V1DaemonSetSpec(
            selector=k8s.V1LabelSelector(match_labels={"app": "agent"}),
            template=k8s.V1PodTemplateSpec(
                metadata=k8s.V1ObjectMeta(labels={"app": "agent"}),
                spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="a", image="a:1")])))))
    for obj in (svc, ds):
        assert unknown_fields(obj) == []
        apply_defaults(obj)
        assert validate(obj) == []


def test_defaulted_objects_load_into_official_models() -> None:
    from berth.api import meta

    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": "web", "uid": meta.new_uid(),
                                        "creationTimestamp": meta.now()},
                           "spec": {"containers": [{"name": "a", "image": "nginx",
                                                    "readinessProbe": {"httpGet": {"port": 80}}}],
                                    "volumes": [{"name": "v"}]}}
    apply_defaults(pod)
    model = k8s.V1Pod.from_dict(pod)
    assert model.spec.dns_policy == "ClusterFirst"
    assert model.spec.containers[0].readiness_probe.http_get.path == "/"
    assert model.spec.volumes[0].empty_dir is not None
    assert model.metadata.creation_timestamp is not None
