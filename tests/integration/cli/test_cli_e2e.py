"""The real `berth` CLI against a real berth API server (fixture in conftest.py)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import yaml

from tests.integration.cli.conftest import ctrl_c_works
from tests.seed import SEED_MANIFEST as SEED

FIXED = SEED.replace("pod_name", "pod-name").replace("container:", "containers:")


def test_seed_manifest_reports_both_errors(cluster: Any, tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(SEED)
    out = cluster.berth("apply", "-f", str(tmp_path / "pod.yaml"))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert 'unknown field "spec.container"; did you mean "spec.containers"?' in out.stderr
    assert 'The Pod "pod_name" is invalid: \n* metadata.name: Invalid value: "pod_name"' \
        in out.stderr
    assert "* spec.containers: Required value" in out.stderr
    assert "pod.yaml (document 1)" in out.stderr
    assert "No resources found in default namespace." in cluster.berth("get", "pods").stderr


def test_server_validation_causes_are_printed_one_per_line(cluster: Any) -> None:
    bad = SEED.replace("container:", "containers:")
    out = cluster.berth("apply", "-f", "-", stdin=bad)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert lines[0] == 'The Pod "pod_name" is invalid: '
    assert lines[1].startswith('* metadata.name: Invalid value: "pod_name": ')


def test_apply_get_describe_delete_round_trip(cluster: Any) -> None:
    out = cluster.berth("apply", "-f", "-", stdin=FIXED)
    assert (out.returncode, out.stdout) == (0, "pod/pod-name created\n"), out.stderr
    assert cluster.berth("apply", "-f", "-", stdin=FIXED).stdout == "pod/pod-name unchanged\n"
    elsewhere = cluster.berth("apply", "-n", "kube-system", "-f", "-",
                              stdin=FIXED.replace("  name: pod-name", "  name: pod-name\n"
                                                  "  namespace: default"))
    assert elsewhere.returncode == 1
    assert "does not match the namespace \"kube-system\"" in elsewhere.stderr
    changed = FIXED.replace("type: front-end", "type: back-end")
    assert cluster.berth("apply", "-f", "-", stdin=changed).stdout == \
        "pod/pod-name configured\n"

    table = cluster.berth("get", "pods").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table[1].split()[:4] == ["pod-name", "0/1", "Pending", "0"]
    wide = cluster.berth("get", "po", "-o", "wide").stdout.splitlines()
    assert "NOMINATED NODE" in wide[0]
    all_ns = cluster.berth("get", "pods", "-A").stdout.splitlines()
    assert all_ns[1].split()[:2] == ["default", "pod-name"]
    assert cluster.berth("get", "pods", "-l", "app=other").stderr.startswith("No resources")
    assert cluster.berth("get", "pods", "-l", "app=label_tag", "-o", "name").stdout == \
        "pod/pod-name\n"

    one = json.loads(cluster.berth("get", "pod", "pod-name", "-o", "json").stdout)
    assert (one["kind"], one["metadata"]["name"]) == ("Pod", "pod-name")
    assert one["spec"]["containers"][0]["image"] == "nginx"
    many = json.loads(cluster.berth("get", "pods", "-o", "json").stdout)
    assert (many["apiVersion"], many["kind"]) == ("v1", "List")
    assert [i["kind"] for i in many["items"]] == ["Pod"]
    as_yaml = yaml.safe_load(cluster.berth("get", "pod", "pod-name", "-o", "yaml").stdout)
    assert as_yaml["metadata"]["labels"] == {"app": "label_tag", "type": "back-end"}

    described = cluster.berth("describe", "pod", "pod-name")
    assert described.returncode == 0, described.stderr
    text = described.stdout
    for expected in ("Name:", "pod-name", "Namespace:", "default", "app=label_tag",
                     "Containers:", "nginx-container:", "Image:", "nginx",
                     "Restart Count:", "Events:"):
        assert expected in text, expected

    deleted = cluster.berth("delete", "pod", "pod-name", "--timeout", "20")
    assert (deleted.returncode, deleted.stdout) == (0, 'pod "pod-name" deleted\n'), deleted.stderr
    gone = cluster.berth("get", "pod", "pod-name")
    assert gone.returncode == 1
    assert gone.stderr == 'Error from server (NotFound): pods "pod-name" not found\n'


def test_multi_document_apply_reports_each_and_applies_the_rest(cluster: Any,
                                                                tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "01-config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '1'\n"
        "---\n"
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  containers:\n"
        "  - name: c\n    imagee: busybox\n"
        "---\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n"
        "    app: web\n  ports:\n  - port: 80\n")
    (manifests / "02-ns.json").write_text(json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}))
    out = cluster.berth("apply", "-f", str(manifests))
    assert out.returncode == 1
    assert out.stdout.splitlines() == ["configmap/settings created", "service/web created",
                                       "namespace/team created"]
    assert "01-config.yaml (document 2)" in out.stderr
    assert 'unknown field "spec.containers[0].imagee"' in out.stderr
    svc = cluster.berth("get", "svc,cm").stdout
    assert "service/web" in svc and "configmap/settings" in svc
    assert cluster.berth("get", "pod", "typo").returncode == 1

    removed = cluster.berth("delete", "-f", str(manifests), "--wait=false")
    assert removed.returncode == 1  # the pod with the typo was never created
    assert removed.stdout.splitlines() == ['configmap "settings" deleted',
                                           'service "web" deleted', 'namespace "team" deleted']
    assert removed.stderr == 'Error from server (NotFound): pods "typo" not found\n'


def test_unreachable_server_is_one_clear_line(cluster: Any, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = yaml.safe_load((cluster.home / "kubeconfig").read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    (tmp_path / "dead").write_text(yaml.safe_dump(config))
    out = cluster.berth("get", "pods", "--kubeconfig", str(tmp_path / "dead"))
    assert out.returncode == 1
    assert out.stderr.startswith(
        f"error: cannot reach the berth API server at https://127.0.0.1:{port}: is it running? "
        "(berth server / berth up)")
    assert out.stderr.count("\n") == 1


def test_bad_token_is_unauthorized(cluster: Any, tmp_path: Path) -> None:
    config = yaml.safe_load((cluster.home / "kubeconfig").read_text())
    config["users"][0]["user"]["token"] = "wrong"
    (tmp_path / "bad").write_text(yaml.safe_dump(config))
    out = cluster.berth("get", "pods", "--kubeconfig", str(tmp_path / "bad"))
    assert (out.returncode, out.stderr) == \
        (1, "error: You must be logged in to the server (Unauthorized)\n")


def test_watch_prints_rows_as_objects_change(cluster: Any) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    script = Path(sys.executable).parent / "berth"
    env = {**os.environ, "BERTH_HOME": str(cluster.home)}
    watcher = subprocess.Popen([str(script), "get", "pods", "-w"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c_works)
    try:
        time.sleep(1.0)  # let the watch start; objects created before it are listed anyway
        assert cluster.berth("apply", "-f", "-", stdin=FIXED).returncode == 0
        assert watcher.stdout is not None
        first = watcher.stdout.readline()
        second = watcher.stdout.readline()
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(10)
    assert first.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert second.split()[:3] == ["pod-name", "0/1", "Pending"]
    assert watcher.returncode == 130
    assert "Traceback" not in (watcher.stderr.read() if watcher.stderr else "")
