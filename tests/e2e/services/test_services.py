"""Services end to end on ``berth up --nodes 2``: the acceptance tests of issue 6.

One cluster serves the whole module (bringing one up takes seconds, but
doing it per test would add up).  Three ``web`` backends run busybox httpd
answering with their pod name: a DaemonSet's two pods (one per node) and an
extra pod on the first node.  ``berth expose`` makes the ``web`` Service.  A
client pod on each node sends its requests by name, through its resolv.conf,
in one ``berth exec`` shell loop.  The fixture runs ``berth down`` in
``finally`` and checks that the root namespace holds nothing of the cluster.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.host.netns import entered
from berth.host.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.root]
BERTH = str(Path(sys.executable).with_name("berth"))
CHI2_DF2_P001 = 13.816  # chi-square critical value, 2 degrees of freedom, p = 0.001
WEB_POD: dict[str, Any] = {
    "terminationGracePeriodSeconds": 1,
    "containers": [{
        "name": "web", "image": "busybox",
        "command": ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && "
                    "touch /tmp/ready && exec httpd -f -p 80 -h /www"],
        "ports": [{"name": "http", "containerPort": 80}],
        "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]},
                           "periodSeconds": 1, "failureThreshold": 1}}]}


def web_manifests(node1: str) -> str:
    """A DaemonSet (one backend per node) and one more backend pod on ``node1``."""
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "web"},
          "spec": {"selector": {"matchLabels": {"ds": "web"}},
                   "template": {"metadata": {"labels": {"app": "web", "ds": "web"}},
                                "spec": WEB_POD}}}
    extra = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "web-extra", "labels": {"app": "web"}},
             "spec": {**WEB_POD, "nodeName": node1}}
    return json.dumps(ds) + "\n---\n" + json.dumps(extra)


CLIENT = """\
apiVersion: v1
kind: Pod
metadata: {name: NAME}
spec:
  nodeName: NODE
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox, command: [sleep, '3600']}]
"""
MORE_SERVICES = """\
apiVersion: v1
kind: Service
metadata: {name: web-named}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: web.default.svc.cluster.local
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nothing}
  ports: [{port: 80}]
"""


class Cluster:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.name = "s" + secrets.token_hex(3)
        self.underlay = f"198.18.{100 + secrets.randbelow(150)}.0/24"
        self.port = free_port(2)  # --port and the join service on --port + 1
        self.nodes: dict[str, dict[str, str]] = {}  # name -> {netns, ip}

    def berth(self, *args: str, check: bool = True, stdin: str | None = None,
              timeout: float = 240) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BERTH_HOME": str(self.home)}
        env.pop("KUBECONFIG", None)
        done = subprocess.run([BERTH, *args], env=env, capture_output=True, text=True,
                              input=stdin, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)}: {done.stdout}{done.stderr}")
        return done

    def sh(self, pod: str, script: str, check: bool = True) -> str:
        return self.berth("exec", pod, "--", "sh", "-c", script, check=check).stdout

    def get(self, *args: str) -> Any:
        return json.loads(self.berth("get", *args, "-o", "json").stdout)

    def node(self, i: int) -> str:
        return sorted(self.nodes)[i]

    def table(self, node: str) -> str:
        return subprocess.run(["ip", "netns", "exec", self.nodes[node]["netns"], "nft",
                               "list", "table", "inet", "berth"],
                              capture_output=True, text=True, check=True).stdout


def root_leftovers(name: str) -> list[str]:
    out = []
    for cmd in (["ip", "-br", "link"], ["ip", "route"], ["ip", "netns", "list"],
                ["nft", "list", "tables"]):
        text = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
        out += [line for line in text.splitlines() if name in line]
    return out


def root_tables() -> str:
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                          check=False).stdout


def wait_for(check: Any, timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.3)


def ready_pods(c: Cluster) -> dict[str, str]:
    pods = c.get("pods")["items"]
    return {p["metadata"]["name"]: p["status"].get("podIP", "") for p in pods
            if any(x["type"] == "Ready" and x["status"] == "True"
                   for x in p["status"].get("conditions") or [])}


def requests(c: Cluster, client: str, url: str, n: int) -> Counter[str]:
    out = c.sh(client, f"for i in $(seq {n}); do timeout 3 wget -qO- {url} || echo FAIL; done")
    return Counter(out.split())


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    # A short home: it holds the nodes' unix sockets (108-byte path limit).
    base = Path(tempfile.mkdtemp(prefix="bs-", dir="/tmp"))
    c = Cluster(base / "home")
    root_had_table = "table inet berth" in root_tables()
    try:
        c.berth("up", "--nodes", "2", "--name", c.name, "--underlay", c.underlay,
                "--port", str(c.port), "--timeout", "120")
        state = json.loads((c.home / "cluster.json").read_text())
        c.nodes = {n["name"]: {"netns": n["netns"], "ip": n["ip"]} for n in state["nodes"]}
        c.berth("apply", "-f", "-", stdin=web_manifests(c.node(0)))
        for i in (0, 1):
            c.berth("apply", "-f", "-", stdin=CLIENT.replace("NAME", f"client-{i}")
                    .replace("NODE", c.node(i)))
        c.berth("expose", "daemonset", "web", "--port", "80", "--target-port", "http",
                "--selector", "app=web")
        c.berth("apply", "-f", "-", stdin=MORE_SERVICES)
        wait_for(lambda: {"client-0", "client-1", "web-extra"} <= set(ready_pods(c))
                 and len(ready_pods(c)) == 5, 90, "5 ready pods")
        yield c
    finally:
        if (c.home / "cluster.json").exists():
            done = c.berth("down", check=False)
            print(done.stdout, done.stderr)
            for log in sorted((c.home / "logs").glob("*.log")):
                print(f"---- {log.name} ----\n{log.read_text(errors='replace')[-3000:]}")
        shutil.rmtree(base, ignore_errors=True)
        assert root_leftovers(c.name) == []
        # The proxies program their node namespaces only, never the root namespace.
        assert root_had_table or "table inet berth" not in root_tables()


def backends(c: Cluster) -> set[str]:
    return {n for n in ready_pods(c) if n.startswith("web")}


def test_requests_by_name_spread_evenly_from_every_node(cluster: Cluster) -> None:
    want = backends(cluster)
    assert len(want) == 3
    for client in ("client-0", "client-1"):
        resolv = cluster.sh(client, "cat /etc/resolv.conf")
        assert "nameserver 10.96.0.10" in resolv
        assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
        assert "options ndots:5" in resolv
        wait_for(lambda cl=client: set(requests(cluster, cl, "http://web", 30)) == want,
                 20, "all backends")
        counts = requests(cluster, client, "http://web", 1000)
        assert set(counts) == want, counts
        chi2 = sum((counts[b] - 1000 / 3) ** 2 / (1000 / 3) for b in want)
        assert chi2 < CHI2_DF2_P001, (client, counts, chi2)


def timed_requests(c: Cluster, client: str, seconds: int) -> subprocess.Popen[str]:
    """Requests to ``web`` for ``seconds``, each line ``<uptime> <backend>`` (one kernel clock)."""
    script = (f"end=$(( $(cut -d. -f1 /proc/uptime) + {seconds} )); "
              "while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do "
              "b=$(timeout 3 wget -qO- http://web); echo $(cut -d' ' -f1 /proc/uptime) $b; done")
    env = {**os.environ, "BERTH_HOME": str(c.home)}
    env.pop("KUBECONFIG", None)
    return subprocess.Popen([BERTH, "exec", client, "--", "sh", "-c", script], env=env,
                            stdout=subprocess.PIPE, text=True)


def test_unready_backend_stops_getting_traffic_within_a_second(cluster: Cluster) -> None:
    # Pods share the node kernel's clock (/proc/uptime), so the client's log and the
    # moment the readiness file goes can be compared to the hundredth of a second.
    loops = [timed_requests(cluster, client, 10) for client in ("client-0", "client-1")]
    # wait until both loops answer (a loaded machine may take seconds to start them),
    # then let them run a little before the file goes
    firsts = [loop.stdout.readline() if loop.stdout else "" for loop in loops]
    time.sleep(1.0)
    removed = float(cluster.sh("web-extra", "cut -d' ' -f1 /proc/uptime; rm /tmp/ready"))
    outs = [first + loop.communicate(timeout=30)[0] for first, loop in zip(firsts, loops,
                                                                          strict=True)]
    for out in outs:
        seen = [line.split() for line in out.splitlines() if len(line.split()) == 2]
        assert any(b == "web-extra" and float(t) < removed for t, b in seen), out
        last = max(float(t) for t, b in seen if b == "web-extra")
        assert float(seen[-1][0]) > removed + 2.5, "the loop ended too early"
        # The probe (periodSeconds 1) notices within 1 s; the status, the EndpointSlice
        # and the node's table must follow within 1 s more.
        print(f"last request to web-extra {last - removed:.2f} s after its file went")
        assert last - removed < 2.0, out
    assert "web-extra" not in ready_pods(cluster)
    cluster.sh("web-extra", "touch /tmp/ready")
    wait_for(lambda: "web-extra" in requests(cluster, "client-0", "http://web", 30), 10,
             "web-extra back")


def test_client_ip_affinity_sticks_until_its_timeout(cluster: Cluster) -> None:
    cluster.berth("apply", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "sticky"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}],
                 "sessionAffinity": "ClientIP",
                 "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 2}}}}))
    try:
        wait_for(lambda: set(requests(cluster, "client-0", "http://sticky", 3)) <= backends(
            cluster), 20, "sticky serving")
        # Rounds of requests 0.5 s apart stick to one backend; 3 s of silence (past the
        # 2 s timeout) lets the next round choose afresh.
        script = ("for r in 1 2 3 4 5 6 7; do for i in 1 2 3 4 5 6; do "
                  "wget -qO- http://sticky; sleep 0.5; done; echo ROUND; sleep 3; done")
        rounds = [set(r.split()) for r in cluster.sh("client-0", script).split("ROUND")[:-1]]
        assert all(len(r) == 1 for r in rounds), rounds
        assert len(set().union(*rounds)) > 1, rounds  # (1/3)^6 that this fails by chance
    finally:
        cluster.berth("delete", "svc", "sticky", check=False)


def test_selector_matching_nothing_is_an_empty_slice_and_refused_at_once(
        cluster: Cluster) -> None:
    slices = [s for s in cluster.get("endpointslices")["items"]
              if s["metadata"]["labels"].get("kubernetes.io/service-name") == "empty"]
    assert len(slices) == 1 and not slices[0].get("endpoints"), slices
    start = time.monotonic()
    out = cluster.sh("client-1", "timeout 5 wget -qO- http://empty 2>&1; echo rc=$?", check=False)
    assert "refused" in out and "rc=1" in out, out
    assert time.monotonic() - start < 2.0  # an exec round trip, not the 5 s timeout


def test_nodeport_answers_on_every_node_from_another_node(cluster: Cluster) -> None:
    svc = cluster.get("svc", "web-np")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    want = backends(cluster)
    for i, j in ((0, 1), (1, 0)):
        target = cluster.nodes[cluster.node(i)]["ip"]
        seen = set()
        with entered(cluster.nodes[cluster.node(j)]["netns"]):
            for _ in range(30):
                with socket.create_connection((target, node_port), timeout=3) as s:
                    s.sendall(f"GET / HTTP/1.0\r\nHost: {target}\r\n\r\n".encode())
                    reply = b""
                    while chunk := s.recv(4096):
                        reply += chunk
                seen.add(reply.decode().split("\r\n\r\n", 1)[1].strip())
        assert seen == want, (target, seen)


def lookup(c: Cluster, pod: str, args: str) -> str:
    """busybox nslookup (its exit code is 1 as soon as one search-list name is NXDOMAIN)."""
    return c.sh(pod, f"nslookup {args} 2>&1", check=False)


def test_dns_answers_each_record_kind_from_inside_a_pod(cluster: Cluster) -> None:
    web_ip = cluster.get("svc", "web")["spec"]["clusterIP"]
    named_ip = cluster.get("svc", "web-named")["spec"]["clusterIP"]
    pod_ips = {ip for name, ip in ready_pods(cluster).items() if name.startswith("web")}
    out = lookup(cluster, "client-0", "web.default.svc.cluster.local")
    assert f"Address: {web_ip}" in out, out
    out = lookup(cluster, "client-0", "web-headless")
    assert {line.split()[-1] for line in out.splitlines()
            if line.startswith("Address:") and "#" not in line and ":53" not in line} \
        == pod_ips, out
    out = lookup(cluster, "client-0", "-type=SRV _http._tcp.web-named.default.svc."
                     "cluster.local")
    assert "8080 web-named.default.svc.cluster.local" in out, out
    out = lookup(cluster, "client-0", f"{named_ip}")
    assert "name = web-named.default.svc.cluster.local" in out, out
    out = lookup(cluster, "client-0", "-type=CNAME ext.default.svc.cluster.local")
    assert "canonical name = web.default.svc.cluster.local" in out, out
    out = lookup(cluster, "client-0", "nope.default.svc.cluster.local")
    assert "NXDOMAIN" in out, out
    out = lookup(cluster, "client-1", "kubernetes.default.svc.cluster.local")
    assert "Address: 10.96.0.1" in out, out


def test_bad_services_are_refused_and_no_node_table_changes(cluster: Cluster) -> None:
    time.sleep(1.0)  # let the last updates settle on both nodes
    before = {n: cluster.table(n) for n in cluster.nodes}
    web_ip = cluster.get("svc", "web")["spec"]["clusterIP"]
    node_port = cluster.get("svc", "web-np")["spec"]["ports"][0]["nodePort"]
    cases: dict[str, dict[str, Any]] = {
        "spec.ports[0].port": {"ports": [{"port": 70000}]},
        "spec.clusterIP": {"clusterIP": "192.0.2.10", "ports": [{"port": 80}]},
        "already allocated": {"clusterIP": web_ip, "ports": [{"port": 80}]},
        "provided port is already allocated": {
            "type": "NodePort", "ports": [{"port": 80, "nodePort": node_port}]},
    }
    for i, (expect, spec) in enumerate(cases.items()):
        manifest = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"bad-{i}"},
                    "spec": {"selector": {"app": "web"}, **spec}}
        done = cluster.berth("apply", "-f", "-", stdin=json.dumps(manifest), check=False)
        assert done.returncode == 1 and expect in done.stderr, (expect, done.stderr)
        assert "Traceback" not in done.stderr
    names = {s["metadata"]["name"] for s in cluster.get("svc")["items"]}
    assert not any(n.startswith("bad-") for n in names), names
    time.sleep(1.0)
    assert {n: cluster.table(n) for n in cluster.nodes} == before
