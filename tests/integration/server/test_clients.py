"""Real clients against the real server: kubectl (1.31 via the dispatcher) and the
official Python client."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

POD_YAML = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: kubectl}}
spec:
  containers:
  - name: main
    image: {image}
    command: ["sleep", "3600"]
"""


def kubectl(live_server: Any, tmp_path: Path, *args: str, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUBECONFIG=str(live_server.kubeconfig), HOME=str(tmp_path))
    proc = subprocess.run(["kubectl", "--cache-dir", str(tmp_path / "cache"), *args],
                          env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.kubectl
def test_kubectl_apply_get_describe_delete(live_server: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD_YAML.format(name="kc-web", image="busybox"))
    assert "pod/kc-web created" in kubectl(live_server, tmp_path, "apply", "-f",
                                           str(manifest)).stdout
    manifest.write_text(POD_YAML.format(name="kc-web", image="busybox:1.36"))
    assert "pod/kc-web configured" in kubectl(live_server, tmp_path, "apply", "-f",
                                              str(manifest)).stdout
    out = kubectl(live_server, tmp_path, "get", "pods").stdout
    assert out.splitlines()[0].split()[:3] == ["NAME", "READY", "STATUS"]
    assert any(line.split()[:3] == ["kc-web", "0/1", "Pending"] for line in out.splitlines())
    yaml_out = kubectl(live_server, tmp_path, "get", "pod", "kc-web", "-o", "yaml").stdout
    assert "image: busybox:1.36" in yaml_out and "generation: 2" in yaml_out
    described = kubectl(live_server, tmp_path, "describe", "pod", "kc-web").stdout
    assert "Name:         kc-web" in described and "busybox:1.36" in described
    assert 'pod "kc-web" deleted' in kubectl(live_server, tmp_path, "delete", "pod",
                                             "kc-web").stdout
    missing = kubectl(live_server, tmp_path, "get", "pod", "kc-web", check=False)
    assert missing.returncode != 0 and 'pods "kc-web" not found' in missing.stderr


@pytest.mark.kubectl
def test_kubectl_reports_unknown_fields(live_server: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(POD_YAML.format(name="kc-bad", image="busybox").replace(
        "containers:", "container:"))
    proc = kubectl(live_server, tmp_path, "apply", "-f", str(manifest), check=False)
    assert proc.returncode != 0
    assert 'unknown field "spec.container"' in proc.stderr


@pytest.mark.kubectl
def test_kubectl_get_watch_sees_an_event(live_server: Any, tmp_path: Path) -> None:
    env = dict(os.environ, KUBECONFIG=str(live_server.kubeconfig), HOME=str(tmp_path))
    proc = subprocess.Popen(["kubectl", "--cache-dir", str(tmp_path / "cache"), "get", "pods",
                             "-w", "--request-timeout=20s", "-l", "app=watched"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        manifest = tmp_path / "w.yaml"
        manifest.write_text(POD_YAML.format(name="kc-watched", image="busybox").replace(
            "app: kubectl", "app: watched"))
        kubectl(live_server, tmp_path, "create", "-f", str(manifest))
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        seen = ""
        while time.monotonic() < deadline and "kc-watched" not in seen:
            seen += proc.stdout.readline()
        assert "kc-watched" in seen
    finally:
        proc.kill()
        proc.wait(10)


def test_official_python_client(live_server: Any) -> None:
    from kubernetes import client, config, watch

    api_client = config.new_client_from_config(str(live_server.kubeconfig))
    v1 = client.CoreV1Api(api_client)
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="py-pod", labels={"via": "python"}),
                       spec=client.V1PodSpec(containers=[client.V1Container(
                           name="main", image="busybox")]))
    created = v1.create_namespaced_pod("default", pod)
    assert created.metadata is not None and created.metadata.uid
    assert created.status is not None and created.status.phase == "Pending"
    listed = v1.list_namespaced_pod("default", label_selector="via=python")
    assert [p.metadata.name for p in listed.items if p.metadata] == ["py-pod"]
    w = watch.Watch()
    seen = []
    for event in w.stream(v1.list_namespaced_pod, "default", label_selector="via=python",
                          timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        w.stop()
    assert seen == [("ADDED", "py-pod")]
    v1.delete_namespaced_pod("py-pod", "default")
    with pytest.raises(client.exceptions.ApiException) as err:
        v1.read_namespaced_pod("py-pod", "default")
    assert err.value.status == 404
    api_client.close()
