"""A throwaway node for proxy tests: a node netns with a bridge, pod namespaces, an outside host.

Layout (every name carries this test run's pid, everything is removed in
``finally``, also when a test fails)::

    berth-px<pid>-ext  198.18.200.2 --veth-- 198.18.200.1  berth-px<pid>-node
                                                           bthpx<pid> bridge 10.244.7.1/24
    berth-px<pid>-p<i> eth0 10.244.7.1<i>/24 --veth-- bridge port

Each pod runs a tiny TCP responder (started by PID, stopped by PID) that
answers every connection with its own IP.  ``Node.request`` connects from a
namespace by entering it in the calling thread only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from berth.host.netns import entered

RESPONDER = r"""
import socket, sys, threading
ip = sys.argv[1].encode()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 8080))
def udp():
    while True:
        _, addr = u.recvfrom(512)
        u.sendto(ip, addr)
threading.Thread(target=udp, daemon=True).start()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(512)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    try:
        c.sendall(ip)
    finally:
        c.close()
"""


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@dataclass
class Node:
    tag: str
    node: str
    ext: str
    pods: dict[str, str] = field(default_factory=dict)  # netns -> IP
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def pod_ns(self, i: int) -> str:
        return f"berth-{self.tag}-p{i}"

    def pod_ip(self, i: int) -> str:
        return f"10.244.7.{10 + i}"

    def request(self, ns: str, ip: str, port: int, timeout: float = 2.0) -> str:
        """Connect from namespace ``ns`` and return what the server said."""
        with entered(ns), socket.create_connection((ip, port), timeout=timeout) as sock:
            chunks = []
            while data := sock.recv(64):
                chunks.append(data)
        return b"".join(chunks).decode()


    def udp_request(self, ns: str, ip: str, port: int, src_port: int) -> str:
        """One datagram from ``ns`` (fixed source port, so conntrack sees one flow)."""
        with entered(ns), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("0.0.0.0", src_port))
            sock.settimeout(2)
            sock.sendto(b"?", (ip, port))
            return sock.recv(64).decode()


def _setup(n: Node, pods: int) -> None:
    node, ext, br = n.node, n.ext, f"bth{n.tag}"
    for ns in (node, ext, *(n.pod_ns(i) for i in range(pods))):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1")
    sh("ip", "-n", node, "link", "add", br, "type", "bridge")
    sh("ip", "-n", node, "addr", "add", "10.244.7.1/24", "dev", br)
    sh("ip", "-n", node, "link", "set", br, "up")
    sh("ip", "-n", node, "link", "add", "bthpxext", "type", "veth", "peer", "name", "eth0",
       "netns", ext)
    sh("ip", "-n", node, "addr", "add", "198.18.200.1/30", "dev", "bthpxext")
    sh("ip", "-n", node, "link", "set", "bthpxext", "up")
    sh("ip", "-n", ext, "addr", "add", "198.18.200.2/30", "dev", "eth0")
    sh("ip", "-n", ext, "link", "set", "eth0", "up")
    sh("ip", "-n", ext, "route", "add", "10.244.7.0/24", "via", "198.18.200.1")
    for i in range(pods):
        ns, veth = n.pod_ns(i), f"bthpx{i}"
        sh("ip", "-n", node, "link", "add", veth, "type", "veth", "peer", "name", "eth0",
           "netns", ns)
        sh("ip", "-n", node, "link", "set", veth, "master", br, "up")
        # as the CNI bridge plugin's hairpinMode does: a pod may reach itself via a service
        sh("ip", "-n", node, "link", "set", veth, "type", "bridge_slave", "hairpin", "on")
        sh("ip", "-n", ns, "addr", "add", f"{n.pod_ip(i)}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", "10.244.7.1")
        proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", sys.executable, "-I",
                                 "-S", "-c", RESPONDER, n.pod_ip(i)],
                                stdout=subprocess.PIPE)
        n.procs.append(proc)
        n.pods[ns] = n.pod_ip(i)
    for proc in n.procs:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"


def _teardown(n: Node, pods: int) -> None:
    for proc in n.procs:
        proc.kill()
        proc.wait()
    for ns in (n.node, n.ext, *(n.pod_ns(i) for i in range(pods))):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


@pytest.fixture
def node() -> Iterator[Node]:
    """A node namespace with 4 pods (p0 is the client, p1-p3 serve) and an outside host."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    tag = f"px{os.getpid() % 100000}"
    n = Node(tag, f"berth-{tag}-node", f"berth-{tag}-ext")
    try:
        _setup(n, 4)
        time.sleep(0.05)
        yield n
    finally:
        _teardown(n, 4)
