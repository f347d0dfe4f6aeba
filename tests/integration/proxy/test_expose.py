"""``berth expose`` and ``kubectl expose`` against a real berth API server, as a user runs them.

The server (SQLite, Service allocators in its write path) runs on a free
loopback port in a background thread; ``berth`` and ``kubectl`` run as
subprocesses with the admin kubeconfig it wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BERTH = str(Path(sys.executable).with_name("berth"))
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web, tier: front}}
spec:
  containers:
  - name: c
    image: busybox
    ports: [{name: http, containerPort: 8080}]
"""


class Api:
    def __init__(self, home: Path) -> None:
        self.home = home

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BERTH_HOME": str(self.home),
               "KUBECONFIG": str(self.home / "kubeconfig")}
        return subprocess.run(list(argv), capture_output=True, text=True, env=env, timeout=120)

    def berth(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(BERTH, *args)

    def service(self, name: str) -> dict[str, Any]:
        done = self.berth("get", "svc", name, "-o", "json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    ready, stop = threading.Event(), threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        from berth.server import ServerConfig, start_server

        running = await start_server(ServerConfig(
            data_dir=tmp_path / "server", port=0, kubeconfig_path=tmp_path / "kubeconfig"))
        ready.set()
        try:
            while not stop.is_set():
                await asyncio.sleep(0.05)
        finally:
            await running.stop()

    def thread_main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=thread_main, daemon=True)
    thread.start()
    assert ready.wait(30) and "error" not in box, box
    a = Api(tmp_path)
    (tmp_path / "pod.yaml").write_text(POD)
    assert a.berth("apply", "-f", str(tmp_path / "pod.yaml")).returncode == 0
    try:
        yield a
    finally:
        stop.set()
        thread.join(30)


def test_expose_pod_makes_a_service_selecting_its_labels(api: Api) -> None:
    done = api.berth("expose", "pod", "web", "--port", "80", "--target-port", "http")
    assert (done.returncode, done.stdout) == (0, "service/web exposed\n"), done.stderr
    svc = api.service("web")
    assert svc["spec"]["selector"] == {"app": "web", "tier": "front"}
    port = svc["spec"]["ports"][0]
    assert (port["port"], port["targetPort"], port["protocol"]) == (80, "http", "TCP")
    assert svc["spec"]["clusterIP"].startswith("10.")

    done = api.berth("expose", "service/web", "--name", "web-np", "--type", "NodePort")
    assert done.returncode == 0, done.stderr
    np = api.service("web-np")
    assert np["spec"]["selector"] == svc["spec"]["selector"]
    assert 30000 <= np["spec"]["ports"][0]["nodePort"] <= 32767

    table = api.berth("get", "svc,endpointslices")
    assert table.returncode == 0, table.stderr
    assert "CLUSTER-IP" in table.stdout and "web-np" in table.stdout
    assert "NodePort" in table.stdout and "80:" in table.stdout


def test_expose_bad_input_names_the_field_and_creates_nothing(api: Api) -> None:
    cases = [
        (("--port", "70000"), "spec.ports[0].port"),
        (("--port", "80", "--cluster-ip", "192.0.2.7"), "spec.clusterIP"),
        (("--port", "80", "--type", "Bogus"), "--type"),
        (("--port", "eighty"), "--port"),
    ]
    for flags, field in cases:
        done = api.berth("expose", "pod", "web", "--name", "bad", *flags)
        assert done.returncode == 1 and field in done.stderr, (flags, done.stderr)
        assert "Traceback" not in done.stderr
    assert api.berth("get", "svc", "bad").returncode == 1
    api.berth("expose", "pod", "web", "--port", "80", "--name", "first",
              "--cluster-ip", "10.96.0.50")
    taken = api.berth("expose", "pod", "web", "--port", "80", "--name", "second",
                      "--cluster-ip", "10.96.0.50")
    assert taken.returncode == 1 and "already allocated" in taken.stderr, taken.stderr
    nolabels = api.berth("expose", "svc", "first", "--selector", "oops")
    assert nolabels.returncode == 1 and "--selector" in nolabels.stderr


@pytest.mark.kubectl
def test_kubectl_expose_works_against_berth(api: Api) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not installed")
    done = api.run("kubectl", "expose", "pod", "web", "--port", "81", "--name", "web-k",
                   "--type", "NodePort")
    assert done.returncode == 0 and "service/web-k exposed" in done.stdout, done.stderr
    svc = api.service("web-k")
    assert svc["spec"]["selector"] == {"app": "web", "tier": "front"}
    assert svc["spec"]["ports"][0]["port"] == 81
    listed = api.run("kubectl", "get", "svc", "web-k")
    assert listed.returncode == 0 and "NodePort" in listed.stdout, listed.stderr
