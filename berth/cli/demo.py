"""``berth demo``: the seed's whole story told on a live two-node cluster, step by step.

The demo runs the very commands a user would (``berth up``, ``apply``,
``get``, ``exec``, ``logs``, ``expose``, ``graph``, ``down``, and ``kubectl``
when installed), printing each command, its output and a line on what it
shows.  ``STEPS`` is the story, in order: each ``Step`` has a title, the
sentence it proves, and a function that runs it against a ``Demo`` (the
cluster's home, a command runner and small waits).  Manifests live in
``berth.cli.demo_manifests``.

The cluster lives in a fresh ``BERTH_HOME`` (a temporary directory).  At the
end the demo runs ``berth down`` (also when a step fails), unless ``--keep``
asks to leave it running for exploration; then it prints how to use it and
how to remove it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from berth.cli import demo_manifests as m
from berth.cli.errors import CliError
from berth.cli.up import add_underlay_argument
from berth.host.ports import free_port as _free_port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", action="store_true",
                        help="leave the cluster running at the end (prints how to remove it)")
    parser.add_argument("--name", default="demo", help="cluster name (namespaces "
                        "berth-NAME-...; default demo)")
    add_underlay_argument(parser)


class DemoFailed(CliError):
    """A step did not show what it should; the message says what was missing."""


@dataclass
class Demo:
    """What steps share: the berth binary, the cluster's home, node names, found values."""

    berth: str
    home: Path
    env: dict[str, str]
    nodes: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, ok: bool = True, show: bool = True, prog: str = "") -> str:
        """Run ``berth ARGS`` (or ``prog``), print command and output, return stdout."""
        argv = [prog or self.berth, *args]
        if show:
            shown = " ".join(a if " " not in a else f"'{a}'" for a in args)
            print(f"\n$ {prog or 'berth'} {shown}", flush=True)
        # Shown commands: one stream, so progress (stderr) and results keep their order.
        done = subprocess.run(argv, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT if show else subprocess.PIPE,
                              text=True, timeout=180, check=False)
        if show:
            sys.stdout.write(done.stdout)
            sys.stdout.flush()
        if ok and done.returncode != 0:
            raise DemoFailed(f"`{prog or 'berth'} {' '.join(args)}` failed: "
                             f"{(done.stderr or done.stdout).strip()}")
        return done.stdout

    def manifest(self, name: str, text: str, show: bool = True) -> str:
        """Write ``text`` to HOME/NAME (printed, as a user would read it); return the path."""
        path = self.home / name
        path.write_text(text)
        if show:
            print(f"\n$ cat {path}\n{text}", end="", flush=True)
        return str(path)

    def pods(self) -> dict[str, Any]:
        listed = json.loads(self.run("get", "pods", "-o", "json", show=False))
        return {p["metadata"]["name"]: p for p in listed["items"]}

    def wait_running(self, names: list[str], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            pods = self.pods()
            if all(running(pods.get(n)) for n in names):
                return pods
            if time.monotonic() > deadline:
                late = [n for n in names if not running(pods.get(n))]
                raise DemoFailed(f"pods not running after {timeout:.0f} s: {', '.join(late)}")
            time.sleep(0.3)


def running(pod: Any) -> bool:
    status = (pod or {}).get("status") or {}
    return status.get("phase") == "Running" and bool(status.get("podIP")) and all(
        c.get("ready") for c in status.get("containerStatuses") or [{}])


def say(text: str) -> None:
    print(f"   -> {text}", flush=True)


@dataclass(frozen=True)
class Step:
    title: str
    shows: str
    run: Callable[[Demo], None]


def step_up(d: Demo) -> None:
    d.run("up", "--nodes", "2", "--name", d.facts["name"], "--port", d.facts["port"],
          "--underlay", d.facts["underlay"])
    state = json.loads((d.home / "cluster.json").read_text())
    d.nodes = [n["name"] for n in state["nodes"]]
    d.run("get", "nodes", "-o", "wide")


def step_seed(d: Demo) -> None:
    d.run("apply", "-f", d.manifest("seed-pod.yaml", m.SEED_MANIFEST), ok=False)
    say("both errors at once (name and unknown field); nothing was created")
    d.run("apply", "-f", d.manifest("pod.yaml", m.FIXED_MANIFEST))
    d.wait_running(["pod-name"])
    d.run("get", "pod", "pod-name", "-o", "wide")
    if shutil.which("kubectl"):
        d.run("get", "pods", "--show-labels", prog="kubectl")
    d.run("delete", "pod", "pod-name", "--now")


def step_sidecar(d: Demo) -> None:
    d.run("apply", "-f", d.manifest("app-with-sidecar.yaml", m.APP_WITH_SIDECAR))
    d.wait_running(["web"])
    d.run("exec", "web", "-c", "log-sidecar", "--", "wget", "-qO-", "http://localhost/")
    say("the sidecar reached the app on localhost: one network namespace per pod")
    time.sleep(2.5)
    logs = d.run("logs", "web", "-c", "log-sidecar", "--tail", "3")
    if not logs.strip():
        raise DemoFailed("the sidecar printed no line of the app's access log")
    say("the sidecar reads the app's access log from their shared emptyDir volume")


def step_port80(d: Demo) -> None:
    n1, n2 = d.nodes[0], d.nodes[1]
    for name, node in (("port80-a", n1), ("port80-b", n1), ("port80-c", n2)):
        d.run("apply", "-f", d.manifest(f"{name}.yaml", m.port80_pod(name, node),
                                        show=name == "port80-a"))
    pods = d.wait_running(["port80-a", "port80-b", "port80-c"])
    d.run("get", "pods", "-l", "demo=port80", "-o", "wide")
    ips = {n: pods[n]["status"]["podIP"] for n in ("port80-a", "port80-b", "port80-c")}
    d.facts.update({f"ip-{k}": v for k, v in ips.items()})
    d.run("exec", "port80-a", "--", "wget", "-qO-", f"http://{ips['port80-b']}/")
    say(f"port80-a and port80-b both listen on port 80 on {n1}: each pod has its own IP "
        f"({ips['port80-a']}, {ips['port80-b']}), so no port conflict")


def step_cross_node(d: Demo) -> None:
    a, c = d.facts["ip-port80-a"], d.facts["ip-port80-c"]
    d.run("exec", "port80-a", "--", "wget", "-qO-", f"http://{c}/")
    log = d.run("logs", "port80-c", "--tail", "2")
    if a not in log:
        raise DemoFailed(f"port80-c's log does not show the client address {a}")
    say(f"port80-c on {d.nodes[1]} saw the request come from {a}, port80-a's own IP on "
        f"{d.nodes[0]}: a flat network, no NAT between pods")


def step_crash(d: Demo) -> None:
    d.run("exec", "port80-a", "--", "sh", "-c", "kill -9 $(cat /tmp/httpd.pid)")
    say("the container's main process died; the node agent restarts it (restartPolicy "
        "Always)")
    deadline = time.monotonic() + 30
    while True:
        pod = d.pods()["port80-a"]
        restarts = sum(c.get("restartCount", 0)
                       for c in pod["status"].get("containerStatuses") or [])
        if restarts >= 1 and running(pod):
            break
        if time.monotonic() > deadline:
            raise DemoFailed("port80-a was not restarted within 30 s")
        time.sleep(0.3)
    d.run("get", "pod", "port80-a", "-o", "wide")
    ip = pod["status"]["podIP"]
    if ip != d.facts["ip-port80-a"]:
        raise DemoFailed(f"port80-a came back with {ip}, not {d.facts['ip-port80-a']}")
    say(f"RESTARTS 1 and the same IP {ip}: the sandbox (and its network) outlived the "
        "container")


def step_service(d: Demo) -> None:
    d.run("apply", "-f", d.manifest("hello-daemonset.yaml", m.HELLO_DAEMONSET))
    d.run("expose", "daemonset", "hello", "--port", "80", "--target-port", "http")
    deadline = time.monotonic() + 60
    while len([p for p in d.pods() if p.startswith("hello-")]) < len(d.nodes):
        if time.monotonic() > deadline:
            raise DemoFailed("the DaemonSet did not place a pod on every node")
        time.sleep(0.3)
    d.wait_running([p for p in d.pods() if p.startswith("hello-")])
    time.sleep(1.0)
    d.run("get", "pods", "-l", "app=hello", "-o", "wide")
    d.run("get", "svc,endpointslices")
    d.run("exec", "port80-c", "--", "nslookup", "hello.default.svc.cluster.local")
    out = d.run("exec", "port80-c", "--", "sh", "-c",
                "for i in $(seq 100); do wget -qO- http://hello; done | sort | uniq -c")
    counts = Counter({line.split()[1]: int(line.split()[0]) for line in out.splitlines()
                      if len(line.split()) == 2})
    if len(counts) < len(d.nodes):
        raise DemoFailed(f"requests reached only {sorted(counts)}")
    say("the Service name resolves through cluster DNS to a stable virtual IP; each "
        "node's nftables proxy spread the 100 requests over the pods on both nodes")


def step_graph(d: Demo) -> None:
    suffix = ".svg" if shutil.which("dot") else ".dot"
    # Outside the cluster's home, so the picture outlives `berth down`.
    picture = Path(tempfile.gettempdir()) / f"berth-{d.facts['name']}-cluster{suffix}"
    d.run("graph", "-o", str(picture))
    d.run("status")
    say(f"the network picture: open {picture} (nodes, bridges, pod IPs, routes)")


STEPS: tuple[Step, ...] = (
    Step("Bring up a two-node cluster on this machine",
         "berth up: an API server, and per node a network namespace running `berth node` "
         "(kubelet, network agent, proxy, DNS); the nodes' own network is 198.18.x.", step_up),
    Step("The seed's Pod manifest, as written, then corrected",
         "strict decoding and Kubernetes validation report every error at once; the fixed "
         "pod is scheduled and runs (busybox httpd stands in for nginx, offline).", step_seed),
    Step("An app and its log sidecar in one pod",
         "containers of a pod share localhost and volumes.", step_sidecar),
    Step("Two pods, both on port 80", "every pod gets its own IP from its node's subnet.",
         step_port80),
    Step("Pods on different nodes talk by IP",
         "the cluster network routes pod to pod across nodes, keeping the source IP.",
         step_cross_node),
    Step("A crashed container is restarted, its IP kept",
         "the pod sandbox holds the network; only the container is replaced.", step_crash),
    Step("A Service spreads requests over pods on both nodes",
         "berth expose makes a ClusterIP Service; pods find it by name.", step_service),
    Step("The network picture", "berth graph draws what is running.", step_graph),
)


def _berth_binary() -> str:
    beside = Path(sys.executable).with_name("berth")
    return str(beside) if beside.exists() else shutil.which("berth") or "berth"


def main(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        raise CliError("berth demo needs root (it runs `berth up`): sudo make demo")
    home = Path(tempfile.mkdtemp(prefix="berth-demo-"))
    env = {**os.environ, "BERTH_HOME": str(home), "KUBECONFIG": str(home / "kubeconfig")}
    d = Demo(_berth_binary(), home, env, facts={"name": args.name, "port": str(_free_port(2)),
                                                   "underlay": args.underlay})
    started = time.monotonic()
    failed: BaseException | None = None
    try:
        for i, step in enumerate(STEPS, 1):
            print(f"\n\033[1m== {i}/{len(STEPS)} {step.title}\033[0m\n   {step.shows}",
                  flush=True)
            step.run(d)
    except BaseException as exc:  # whatever happens, the cluster comes down below
        failed = exc
        with contextlib.suppress(OSError):
            print(f"\ndemo: step failed: {exc or type(exc).__name__}", file=sys.stderr)
    try:
        return _finish(d, keep=args.keep and failed is None, started=started, failed=failed)
    except BrokenPipeError:
        if (home / "cluster.json").exists():
            subprocess.run([d.berth, "down"], env=env, capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
        raise


def _finish(d: Demo, *, keep: bool, started: float, failed: BaseException | None) -> int:
    home = d.home
    print(f"\n\033[1m== The end ({time.monotonic() - started:.0f} s)\033[0m")
    if keep and (home / "cluster.json").exists():
        print(f"""
The cluster keeps running. Explore it:
  export BERTH_HOME={home} KUBECONFIG={home}/kubeconfig
  berth get pods -o wide; berth get svc,endpointslices; kubectl get pods,svc -o wide
  berth exec port80-c -- wget -qO- http://hello
  berth describe pod web; berth logs web -c log-sidecar
  docs/ has a page per feature (docs/demo.md tells this story).
Tear it down:
  BERTH_HOME={home} berth down""")
        return 0
    if (home / "cluster.json").exists():
        d.run("down", ok=False)
    shutil.rmtree(home, ignore_errors=True)
    print("\nTo explore yourself: `berth demo --keep` leaves the cluster running; or "
          "`berth up --nodes 2`, then `berth apply -f examples/`, `kubectl get pods`, and "
          "`berth down` to remove it. docs/demo.md explains each step.")
    if isinstance(failed, KeyboardInterrupt):
        return 130
    return 1 if failed is not None else 0
