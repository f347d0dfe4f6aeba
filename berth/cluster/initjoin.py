"""``berth init`` and ``berth join``: a cluster over several machines, one node per machine.

``bring_init`` makes this machine the control plane and its first node: it
checks the settings (the same address-plan checks as ``berth up``),
starts the server on 127.0.0.1 and the ``--advertise-address`` with a new
bootstrap token, joins this machine through the join service like any other
node, and returns what a second machine needs: the join command with the
token and the CA pin.  ``bring_join`` checks the token's shape, pins the CA,
trades the token for node credentials (a refused token stops it before
anything is made), then starts the node and its network agent.  Both run
everything in the current network namespace; both record a ``ClusterState``
(kind ``init``/``join``) so ``berth down`` undoes them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from berth.api import addressplan as plan
from berth.cluster import join, machine
from berth.cluster.errors import ClusterExists, PreflightError
from berth.cluster.state import ClusterState, NodeRecord, load_state, save_state
from berth.cluster.up import wait_ready
from berth.host.errors import HostError
from berth.host.netlink import Netlink
from berth.server import bootstrap

Report = Callable[[str], None]


@dataclass(frozen=True)
class InitOptions:
    advertise_address: str
    pod_cidr: str = plan.DEFAULT_CLUSTER_CIDR
    service_cidr: str = plan.DEFAULT_SERVICE_CIDR
    node_mask: int = plan.DEFAULT_NODE_MASK
    backend: str = plan.DEFAULT_BACKEND
    underlay_mtu: int = plan.DEFAULT_UNDERLAY_MTU
    datastore: str = "sqlite"
    port: int = 6443
    node_name: str = ""
    timeout: float = 120.0


@dataclass(frozen=True)
class InitResult:
    state: ClusterState
    join_command: str


def device_for_address(address: str) -> str:
    """The link of this namespace that holds ``address``; PreflightError if none does."""
    want = ipaddress.ip_address(address)
    try:
        with Netlink.open() as nl:
            for link in nl.links():
                if any(a.ip == want for a in nl.addrs(link.index)):
                    return link.name
    except HostError as exc:
        raise PreflightError(f"cannot read this machine's addresses: {exc}") from exc
    raise PreflightError(f"--advertise-address: {address} is not an address of this machine")


def address_towards(host: str) -> str:
    """The local address the kernel would use to reach ``host`` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((host, 9))
        except OSError as exc:
            raise PreflightError(f"no route to the server {host}: {exc.strerror}") from None
        return str(s.getsockname()[0])


def _node_name(name: str) -> str:
    return (name or socket.gethostname().split(".")[0]).lower()


def _preflight(home: Path) -> None:
    if os.geteuid() != 0:
        raise PreflightError("this needs root (network namespaces, routes, runc)")
    if load_state(home) is not None:
        raise ClusterExists(f"this machine is already in a cluster (state in "
                            f"{home}/cluster.json); `berth down` first")


def _state(home: Path, kind: str, network: plan.AddressPlan, server: str) -> ClusterState:
    state = ClusterState(home=str(home), cluster="", backend=network.backend,
                         pod_cidr=str(network.cluster_cidr), service_cidr=str(network.service_cidr),
                         underlay="", fabric_netns="", host_link="", server_url=server,
                         fabric_server_url=server, kubeconfig=str(home / "kubeconfig"),
                         server_dir=str(home / "server"), kind=kind)
    state.paths = [str(home / "logs"), str(home / "nodes"), str(home / "run"),
                   str(home / "images"), str(home / machine.CNI_BIN)]
    if kind == "init":
        state.paths += [state.server_dir, state.kubeconfig]
    return state


def _join_this_machine(state: ClusterState, home: Path, creds: join.Credentials, name: str,
                       address: str, device: str) -> NodeRecord:
    from berth.images import ImageStore
    from berth.images.busybox import ensure_busybox_image

    image_dir = home / "images"
    ensure_busybox_image(ImageStore(image_dir))
    rec = NodeRecord(name=name, netns="", ip=address, subnet="",
                     root_dir=str(home / "nodes" / name), run_dir=str(home / "run" / name),
                     underlay_device=device)
    state.nodes.append(rec)
    save_state(state)
    machine.start_node(state, rec, creds, image_dir)
    return rec


def bring_init(opts: InitOptions, home: Path, report: Report) -> InitResult:
    network = plan.AddressPlan.parse(opts.pod_cidr, opts.service_cidr, opts.node_mask,
                                     opts.backend, opts.underlay_mtu)
    network.require_ipv4()
    _preflight(home)
    device = device_for_address(opts.advertise_address)
    name = _node_name(opts.node_name)
    server = f"https://{opts.advertise_address}:{opts.port}"
    state = _state(home, "init", network, server)
    state.server_url = f"https://127.0.0.1:{opts.port}"
    save_state(state)
    try:
        report(f"API server on 127.0.0.1:{opts.port} and {opts.advertise_address}:{opts.port}, "
               f"join service on port {opts.port + 1}")
        token = bootstrap.new_bootstrap_token()
        machine.start_server(state, network, token, opts.port, opts.advertise_address,
                             opts.datastore)
        url = join.join_url(state.server_url)
        ca_pem = asyncio.run(join.discover(url, None))
        creds = asyncio.run(join.request_join(url, token, name, ca_pem, server))
        report(f"node {name}: {opts.advertise_address} on {device}")
        _join_this_machine(state, home, creds, name, opts.advertise_address, device)
        asyncio.run(wait_ready(state, opts.timeout))
    except BaseException:
        from berth.cluster.down import bring_down

        bring_down(home, report)
        raise
    state.phase = "up"
    save_state(state)
    command = (f"berth join {server} --token {token} "
               f"--ca-cert-hash {bootstrap.ca_cert_hash(ca_pem)}")
    return InitResult(state, command)


def bring_join(server: str, token: str, ca_hash: str | None, home: Path, report: Report, *,
               node_name: str = "", advertise_address: str = "", timeout: float = 120.0
               ) -> ClusterState:
    join.check_token_shape(token)
    _preflight(home)
    url = join.join_url(server)
    host = urlsplit(url).hostname or ""
    address = advertise_address or address_towards(host)
    device = device_for_address(address)
    name = _node_name(node_name)
    report(f"checking the cluster CA at {url}")
    ca_pem = asyncio.run(join.discover(url, ca_hash))
    creds = asyncio.run(join.request_join(url, token, name, ca_pem, server.rstrip("/")))
    network = plan.AddressPlan.from_doc(creds.network)
    state = _state(home, "join", network, creds.server)
    state.kubeconfig = str(home / "nodes" / name / "kubeconfig")
    save_state(state)
    try:
        report(f"node {name}: {address} on {device}")
        _join_this_machine(state, home, creds, name, address, device)
        asyncio.run(wait_ready(state, timeout))
    except BaseException:
        from berth.cluster.down import bring_down

        bring_down(home, report)
        raise
    state.phase = "up"
    save_state(state)
    return state
