"""What ``berth up``, ``init`` and ``join`` share: the server process and starting one node.

``spawn`` starts a process in its own session with its output in a log file
and records it (PID and start time) in the ``ClusterState`` at once.
``write_network`` stores the cluster's network settings where the join
service reads them; ``start_server`` spawns ``berth server`` (with the join
service and the plan as flags) and waits for it to listen.  ``start_node`` turns join ``Credentials`` into a running
node: the node's kubeconfig (its own identity) and the token the API server
presents to its logs/exec endpoint, then one ``berth node`` process (kubelet,
network agent and CNI fast-path server together) inside the node's network
namespace (``nsenter --net``; FACTS: never ``ip netns exec``) or in the
current one when the node is this machine.  The node's pod subnet is not
decided here: the node IPAM controller assigns it once the Node registers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from berth.api.addressplan import AddressPlan
from berth.cluster.errors import StartupError
from berth.cluster.join import Credentials
from berth.cluster.state import (
    ClusterState,
    NodeRecord,
    Process,
    process_alive,
    save_state,
    start_time,
)
from berth.host import netns
from berth.server import bootstrap

BERTH_BIN = str(Path(sys.executable).with_name("berth"))
NODE_PORT = 10250


def spawn(state: ClusterState, role: str, argv: list[str], log: Path, node: str = "") -> Process:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    record = Process(role, proc.pid, start_time(proc.pid), str(log), node, list(argv))
    state.processes.append(record)
    save_state(state)
    return record


def log_tail(path: str, lines: int = 8) -> str:
    """The last lines of a process's log, for an error that says why it ended ("" if none)."""
    try:
        tail = Path(path).read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "".join(f"\n  {line}" for line in tail)


def wait_port(host: str, port: int, proc: Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(proc):
            raise StartupError(f"the {proc.role} exited; see {proc.log}{log_tail(proc.log)}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise StartupError(f"the {proc.role} did not listen on {host}:{port}; see {proc.log}")


def start_server(state: ClusterState, network: AddressPlan, token: str, port: int,
                 also_listen: str, datastore: str) -> None:
    """Network settings and the bootstrap token in the data dir, then the server process."""
    data = Path(state.server_dir)
    data.mkdir(parents=True, exist_ok=True)
    (data / bootstrap.NETWORK_FILE).write_text(json.dumps(network.to_doc()) + "\n")
    bootstrap.add_token(data, token)
    low, high = network.node_port_range
    proc = spawn(state, "server", [
        BERTH_BIN, "server", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}",
        "--also-listen", also_listen, "--join-port", str(port + 1),
        "--kubeconfig", state.kubeconfig, "--datastore", datastore,
        "--pod-network-cidr", str(network.cluster_cidr),
        "--service-cidr", str(network.service_cidr),
        "--node-cidr-mask-size", str(network.node_mask),
        "--service-node-port-range", f"{low}-{high}"],
        Path(state.home) / "logs" / "server.log")
    wait_port("127.0.0.1", port, proc, 60)
    wait_port("127.0.0.1", port + 1, proc, 10)


def _in_netns(rec: NodeRecord) -> list[str]:
    return ["nsenter", f"--net={netns.netns_path(rec.netns)}"] if rec.netns else []


CNI_BIN = "cni-bin"  # under BERTH_HOME: berth's plugins as standalone executables


def ensure_cni_bin(home: Path) -> Path:
    """berth's CNI plugins installed once per cluster: the native thin client when a C
    compiler is there (~1 ms to reach the node agent's fast path), else wrappers."""
    from berth.cni.install import install

    bin_dir = home / CNI_BIN
    if not (bin_dir / "berth-net").exists():
        install(bin_dir, "auto")
    return bin_dir


def start_node(state: ClusterState, rec: NodeRecord, creds: Credentials, image_dir: Path
               ) -> None:
    """The node's kubeconfig and tokens, then its ``berth node`` process."""
    from berth.server.kubeconfig import render_kubeconfig, write_kubeconfig

    network = AddressPlan.from_doc(creds.network)
    root, run = Path(rec.root_dir), Path(rec.run_dir)
    root.mkdir(parents=True, exist_ok=True)
    kubeconfig = root / "kubeconfig"
    write_kubeconfig(kubeconfig, render_kubeconfig(creds.server, creds.ca_pem, creds.token,
                                                   user=f"node-{rec.name}"))
    token_file = root / "kubelet-client.token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(creds.kubelet_client_token + "\n")
    logs = Path(state.home) / "logs"
    spawn(state, "node", [
        *_in_netns(rec), BERTH_BIN, "node", "--name", rec.name, "--kubeconfig", str(kubeconfig),
        "--root-dir", str(root), "--run-dir", str(run), "--image-dir", str(image_dir),
        "--cni-conf-dir", str(root / "cni" / "net.d"),
        "--cni-bin-dir", str(ensure_cni_bin(Path(state.home))), "--cni-bin-dir", "/usr/lib/cni",
        "--cni-socket", str(run / "cni.sock"),
        "--node-ip", rec.ip, "--address", rec.ip, "--port", str(NODE_PORT),
        "--api-server-token-file", str(token_file),
        "--network-agent", "true", "--backend", network.backend,
        "--pod-network-cidr", str(network.cluster_cidr),
        "--service-cidr", str(network.service_cidr),
        "--node-cidr-mask-size", str(network.node_mask),
        "--underlay-mtu", str(network.underlay_mtu),
        "--cluster-dns", str(network.require_dns_ip()),
        "--cluster-domain", network.cluster_domain,
        "--underlay-device", rec.underlay_device, "-v"], logs / f"{rec.name}.log", rec.name)


def restart_node(home: Path, name: str) -> Process:
    """Start node ``name``'s ``berth node`` process again, as recorded, after it died.

    Its pods kept running meanwhile; the new process adopts them and its
    network agent finds its routes (nothing was flushed).  Refuses while the
    recorded process still runs: only a dead process is replaced.
    """
    from berth.cluster.errors import NoCluster
    from berth.cluster.state import load_state

    state = load_state(home)
    if state is None:
        raise NoCluster(f"no cluster is up (no {home}/cluster.json)")
    old = next((p for p in state.processes if p.role == "node" and p.node == name), None)
    if old is None or not old.argv:
        raise NoCluster(f"--restart-node: {name!r} is not a node of this cluster")
    if process_alive(old):
        raise StartupError(f"--restart-node: the berth node process of {name} still runs "
                           f"(pid {old.pid})")
    state.processes.remove(old)
    return spawn(state, "node", old.argv, Path(old.log), name)
