"""``berth up``: bring up a multi-node cluster on this machine, step by step, recorded.

``UpOptions`` is what the user chose; ``plan_up`` checks it all (CIDRs, node
mask, MTU, names) before anything exists, so bad input leaves nothing
behind.  ``bring_up`` then runs the steps in order, saving the
``ClusterState`` after each so ``berth down`` can undo a half-made cluster
(and does, when a step fails): preflight, the fabric and host link, the API
server (``berth server`` with its join service and all controllers) and a fresh bootstrap
token, the busybox image, then per node (``join_node``) its namespace, its
credentials from the join service (the very flow ``berth join`` uses) and,
inside its namespace, its one ``berth node`` process (kubelet, network agent,
CNI fast path: ``berth.cluster.machine``); finally it waits until every Node
is Ready with its network configured, and records the subnet the node IPAM
controller gave each.  ``add_node`` (``berth up --add-node``) joins one more
node to a running cluster the same way, with a fresh short-lived token.
``report`` receives one line per step, for the CLI's progress display.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from berth.api import addressplan as plan
from berth.cluster import join, machine, topology
from berth.cluster.errors import ClusterExists, NoCluster, PreflightError, StartupError
from berth.cluster.state import ClusterState, NodeRecord, load_state, save_state
from berth.host import netns
from berth.server import bootstrap

Report = Callable[[str], None]


@dataclass(frozen=True)
class UpOptions:
    nodes: int = 3
    backend: str = plan.DEFAULT_BACKEND
    pod_cidr: str = plan.DEFAULT_CLUSTER_CIDR
    service_cidr: str = plan.DEFAULT_SERVICE_CIDR
    node_mask: int = plan.DEFAULT_NODE_MASK
    underlay: str = plan.DEFAULT_UNDERLAY
    underlay_mtu: int = plan.DEFAULT_UNDERLAY_MTU
    datastore: str = "sqlite"  # "sqlite", "etcd" (berth starts it) or "etcd://HOST:PORT,..."
    etcd_members: int = 1
    port: int = 6443
    cluster: str = ""  # a short tag; tests use one so their names never clash
    timeout: float = 120.0


def plan_up(opts: UpOptions) -> topology.Topology:
    """Every check that needs no machine state; AddressPlanError/ValueError name the flag."""
    network = plan.AddressPlan.parse(opts.pod_cidr, opts.service_cidr, opts.node_mask,
                                     opts.backend, opts.underlay_mtu, underlay=opts.underlay)
    network.require_ipv4()
    if not (opts.datastore in ("sqlite", "etcd") or opts.datastore.startswith("etcd://")):
        raise ValueError(f"--datastore: {opts.datastore!r}: use sqlite, etcd (berth starts "
                         "it on 127.0.0.1) or etcd://HOST:PORT[,HOST:PORT...]")
    if not 1 <= opts.etcd_members <= 7 or (opts.etcd_members > 1 and opts.datastore != "etcd"):
        raise ValueError(f"--etcd-members: {opts.etcd_members}: 1 to 7, with --datastore etcd")
    return topology.plan_topology(opts.nodes, network, cluster=opts.cluster)


def preflight(topo: topology.Topology, home: Path, port: int) -> None:
    if os.geteuid() != 0:
        raise PreflightError("berth up needs root (network namespaces, veths, runc)")
    if load_state(home) is not None:
        raise ClusterExists(f"a cluster is already up (state in {home}/cluster.json); "
                            "see `berth status`, or `berth down` first")
    taken = [n for n in [topo.fabric_netns, *(w.netns for w in topo.nodes)] if netns.exists(n)]
    if taken:
        raise PreflightError(f"network namespace {taken[0]} already exists; "
                             "another cluster or test uses it")
    if os.path.exists(f"/sys/class/net/{topo.host_link_name}"):
        raise PreflightError(f"link {topo.host_link_name} already exists in the root namespace")
    longest = max((str(home / "run" / w.name / "cni.sock") for w in topo.nodes), key=len)
    if len(longest.encode()) >= 108:  # sizeof(sockaddr_un.sun_path)
        raise PreflightError(f"BERTH_HOME {home} is too long: the node's socket {longest} "
                             "would exceed the 107-byte limit of a unix socket path")
    for p in (port, port + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                raise PreflightError(f"--port: 127.0.0.1:{p} is in use (the API uses --port, "
                                     "the join service --port + 1)") from None


def bring_up(opts: UpOptions, home: Path, report: Report) -> ClusterState:
    """Make the cluster; on failure remove what was made and re-raise."""
    topo = plan_up(opts)
    preflight(topo, home, opts.port)
    state = ClusterState(
        home=str(home), cluster=opts.cluster, backend=opts.backend, pod_cidr=opts.pod_cidr,
        service_cidr=opts.service_cidr, underlay=str(topo.underlay),
        fabric_netns=topo.fabric_netns, host_link=topo.host_link_name,
        server_url=f"https://127.0.0.1:{opts.port}",
        fabric_server_url=f"https://{topo.host_ip.ip}:{opts.port}",
        kubeconfig=str(home / "kubeconfig"), server_dir=str(home / "server"))
    state.paths = [state.server_dir, state.kubeconfig, str(home / "logs"),
                   str(home / "nodes"), str(home / "run"), str(home / "images"),
                   str(home / "etcd"), str(home / machine.CNI_BIN)]
    save_state(state)
    try:
        _steps(state, topo, opts, home, report)
    except BaseException:
        from berth.cluster.down import bring_down

        report("start-up failed: removing what was made")
        bring_down(home, report)
        raise
    state.phase = "up"
    save_state(state)
    return state


def _steps(state: ClusterState, topo: topology.Topology, opts: UpOptions, home: Path,
           report: Report) -> None:
    report(f"fabric {topo.fabric_netns}: bridge {topology.FABRIC_BRIDGE}, underlay "
           f"{topo.underlay}, host link {topo.host_link_name} {topo.host_ip}")
    topology.setup_fabric(topo)
    report(f"API server on {state.server_url} and {state.fabric_server_url}"
           f"{'' if opts.datastore == 'sqlite' else ' on ' + opts.datastore}")
    datastore = opts.datastore
    if datastore == "etcd":
        from berth.cluster.etcd import start_etcd

        report(f"etcd: {opts.etcd_members} member(s) on 127.0.0.1")
        datastore = start_etcd(state, opts.etcd_members)
    token = bootstrap.new_bootstrap_token()
    machine.start_server(state, topo.network, token, opts.port, str(topo.host_ip.ip),
                         datastore)
    report("busybox image")
    from berth.images import ImageStore
    from berth.images.busybox import ensure_busybox_image

    ensure_busybox_image(ImageStore(home / "images"))
    for wiring in topo.nodes:
        join_node(state, topo, wiring, token, report)
    report(f"waiting for {len(topo.nodes)} nodes to be Ready with their network")
    asyncio.run(wait_ready(state, opts.timeout))


def join_node(state: ClusterState, topo: topology.Topology, wiring: topology.NodeWiring,
              token: str, report: Report) -> NodeRecord:
    """Wire one node namespace, join it through the join service, start its ``berth node``."""
    topology.setup_node(topo, wiring)
    url = join.join_url(state.server_url)
    ca_pem = asyncio.run(join.discover(url, None))  # our own server, over loopback
    creds = asyncio.run(join.request_join(url, token, wiring.name, ca_pem,
                                          state.fabric_server_url))
    home = Path(state.home)
    rec = NodeRecord(name=wiring.name, netns=wiring.netns, ip=str(wiring.underlay_ip.ip),
                     subnet="", root_dir=str(home / "nodes" / wiring.name),
                     run_dir=str(home / "run" / wiring.name),
                     underlay_device=topology.NODE_UNDERLAY)
    state.nodes.append(rec)
    save_state(state)
    report(f"node {rec.name} joined: netns {rec.netns}, {rec.ip}")
    machine.start_node(state, rec, creds, home / "images")
    return rec


def plan_next_node(state: ClusterState) -> tuple[topology.Topology, topology.NodeWiring]:
    """The wiring of the node ``berth up --add-node`` adds: the first free index."""
    doc = json.loads((Path(state.server_dir) / bootstrap.NETWORK_FILE).read_text())
    network = plan.AddressPlan.from_doc(doc)
    taken = {n.name for n in state.nodes}
    index = next(k for k in range(1, len(taken) + 2)
                 if topology.node_name(state.cluster, k) not in taken)
    topo = topology.plan_topology(index, network, cluster=state.cluster)
    return topo, topo.nodes[-1]


def add_node(home: Path, report: Report, timeout: float = 120.0) -> NodeRecord:
    """One more node in the running one-machine cluster; removed again if it fails."""
    state = load_state(home)
    if state is None or state.kind != "up":
        raise NoCluster(f"no one-machine cluster is up (no {home}/cluster.json from "
                        "`berth up`)")
    topo, wiring = plan_next_node(state)
    if netns.exists(wiring.netns):
        raise PreflightError(f"network namespace {wiring.netns} already exists")
    token = bootstrap.new_bootstrap_token()
    bootstrap.add_token(Path(state.server_dir), token, ttl=600)
    try:
        rec = join_node(state, topo, wiring, token, report)
        report(f"waiting for {rec.name} to be Ready with its network")
        asyncio.run(wait_ready(state, timeout, only={rec.name}))
    except BaseException:
        from berth.cluster.down import remove_node

        report(f"adding {wiring.name} failed: removing it")
        remove_node(home, wiring.name, report)
        raise
    return rec


def node_ready(node: dict[str, Any]) -> bool:
    conds = {c.get("type"): c.get("status")
             for c in (node.get("status") or {}).get("conditions") or []}
    return conds.get("Ready") == "True" and conds.get("NetworkUnavailable") == "False"


async def wait_ready(state: ClusterState, timeout: float, only: set[str] | None = None
                     ) -> None:
    """Until the nodes (``only`` these, if given) are Ready with their network; records
    each node's pod subnet (assigned by the node IPAM controller) in the state."""
    from berth.api.resources import by_key
    from berth.client import Client, ClientError, load_config
    from berth.cluster.state import process_alive

    nodes_res = by_key("nodes")
    assert nodes_res is not None
    want = only if only is not None else {n.name for n in state.nodes}
    deadline = time.monotonic() + timeout
    async with Client(load_config(state.kubeconfig, {})) as client:
        while time.monotonic() < deadline:
            for proc in state.processes:
                if not process_alive(proc):
                    raise StartupError(f"the {proc.role} of {proc.node or 'the cluster'} "
                                       f"exited; see {proc.log}")
            try:
                listed = await client.list(nodes_res)
                ready = {n["metadata"]["name"]: (n.get("spec") or {}).get("podCIDR") or ""
                         for n in listed.get("items") or [] if node_ready(n)}
                if want <= ready.keys():
                    for rec in state.nodes:
                        rec.subnet = ready.get(rec.name, rec.subnet)
                    save_state(state)
                    return
            except ClientError:
                pass
            await asyncio.sleep(0.5)
    raise StartupError(f"nodes not Ready after {timeout:.0f} s; see the logs in "
                       f"{Path(state.home) / 'logs'}")
