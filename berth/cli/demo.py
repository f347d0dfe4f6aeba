"""``berth demo``: the seed's story told on live components, step by step.

The demo runs the real programs a user would run (``berth server``, ``berth
apply``, ``berth get``, ``kubectl``) in a throwaway directory, prints each
command with what it shows, and stops exactly the server process it started.
It grows with berth: today it covers the API (strict decoding, Kubernetes
validation, kubectl compatibility); node agents, the pod network and Services
join it as they land.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED_MANIFEST = """\
# This is a Comment
# Below is the structure of writing a yaml file for pods

apiVersion: v1
kind: Pod
metadata:
  name: pod_name
  labels:
    app: label_tag
    type: front-end
spec:
  container:
    - name: nginx-container
      image: nginx
"""

FIXED_MANIFEST = SEED_MANIFEST.replace("pod_name", "pod-name").replace(
    "  container:", "  containers:")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", action="store_true",
                        help="leave the server running at the end (prints how to stop it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _step(title: str, why: str) -> None:
    print(f"\n\033[1m== {title}\033[0m\n   {why}", flush=True)


def _run(cmd: list[str], env: dict[str, str], expect_ok: bool = True) -> int:
    shown = " ".join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd))
    print(f"\n$ {shown}", flush=True)
    rc = subprocess.call(cmd, env=env)
    if expect_ok and rc != 0:
        raise SystemExit(f"demo: `{shown}` failed with exit code {rc}")
    return rc


def main(args: argparse.Namespace) -> int:
    berth = str(Path(sys.argv[0]).resolve()) if Path(sys.argv[0]).name == "berth" else "berth"
    work = Path(tempfile.mkdtemp(prefix="berth-demo-"))
    env = {**os.environ, "BERTH_HOME": str(work), "KUBECONFIG": str(work / "kubeconfig")}
    (work / "seed-pod.yaml").write_text(SEED_MANIFEST)
    (work / "pod.yaml").write_text(FIXED_MANIFEST)
    port = _free_port()
    _step("Start the API server",
          "berth server: a Kubernetes-compatible API over TLS with a bearer token, "
          "objects in SQLite; it writes an admin kubeconfig.")
    print(f"\n$ berth server --data-dir {work}/server --listen 127.0.0.1:{port}")
    with open(work / "server.log", "wb") as log:
        server = subprocess.Popen(
            [berth, "server", "--data-dir", str(work / "server"),
             "--listen", f"127.0.0.1:{port}"],
            env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while not (work / "kubeconfig").exists() or _closed(port):
            if server.poll() is not None or time.monotonic() > deadline:
                print((work / "server.log").read_text(), file=sys.stderr)
                raise SystemExit("demo: the server did not come up")
            time.sleep(0.1)
        print(f"   serving https://127.0.0.1:{port}, kubeconfig {work}/kubeconfig")

        _step("The seed's Pod manifest, exactly as written",
              "`name: pod_name` is not a DNS-1123 name and `spec.container` is not a field: "
              "both errors come back at once, and nothing is created.")
        print(f"\n{SEED_MANIFEST}")
        _run([berth, "apply", "-f", str(work / "seed-pod.yaml")], env, expect_ok=False)

        _step("Corrected: pod-name, spec.containers",
              "Created, defaulted as Kubernetes does (restartPolicy, dnsPolicy, "
              "imagePullPolicy, ...).")
        _run([berth, "apply", "-f", str(work / "pod.yaml")], env)
        _run([berth, "get", "pods", "-o", "wide"], env)
        _run([berth, "get", "pod", "pod-name", "-o", "yaml"], env)

        if shutil.which("kubectl"):
            _step("Real kubectl against berth",
                  "kubectl reads berth's discovery, tables and objects like any cluster's.")
            _run(["kubectl", "get", "pods", "--show-labels"], env)
            _run(["kubectl", "apply", "-f", str(work / "pod.yaml")], env)

        _step("Apply is idempotent", "Applying the same manifest again changes nothing.")
        _run([berth, "apply", "-f", str(work / "pod.yaml")], env)
        _run([berth, "describe", "pod", "pod-name"], env)

        _step("Delete", "The pod is bound to no node yet, so it goes at once.")
        _run([berth, "delete", "pod", "pod-name"], env)
        _run([berth, "get", "pods"], env)
    finally:
        if args.keep and server.poll() is None:
            print(f"\nThe server keeps running (pid {server.pid}); stop it with: kill {server.pid}")
        else:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            shutil.rmtree(work, ignore_errors=True)
    print("\nExplore further: `berth server` + `berth apply -f examples/` + `kubectl get pods`;"
          " docs/ has a page per feature.")
    return 0


def _closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) != 0
