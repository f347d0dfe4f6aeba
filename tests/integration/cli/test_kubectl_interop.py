"""berth and kubectl on the same objects: same apply bookkeeping, same table cells."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: shared
  labels: {app: shared}
spec:
  containers:
  - name: c
    image: busybox
"""


def kubectl(cluster: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(cluster.home / "kubeconfig")}
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.kubectl
def test_kubectl_sees_berth_apply_as_unchanged_and_prints_same_cells(
        cluster: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD)
    assert cluster.berth("apply", "-f", str(manifest)).stdout == "pod/shared created\n"
    out = kubectl(cluster, "apply", "-f", str(manifest))
    assert out.stdout == "pod/shared unchanged\n", out.stderr
    manifest.write_text(POD.replace("{app: shared}", "{app: shared, extra: 'yes'}"))
    assert kubectl(cluster, "apply", "-f", str(manifest)).stdout == "pod/shared configured\n"
    assert cluster.berth("apply", "-f", str(manifest)).stdout == "pod/shared unchanged\n"

    theirs = kubectl(cluster, "get", "pods").stdout.splitlines()
    ours = cluster.berth("get", "pods").stdout.splitlines()
    assert theirs[0] == ours[0]
    assert theirs[1].split()[:4] == ours[1].split()[:4]
