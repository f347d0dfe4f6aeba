"""The node process, assembled: what ``berth node`` runs, from a ``NodeProcessConfig``.

One node is one process and one asyncio loop (docs/architecture.md,
"Processes" and "Concurrency").  ``run_node_process`` builds the parts in
dependency order and runs them until cancelled:

1. the image store (with the built-in busybox), the executor whose threads sit
   in the node's network namespace, and the node's CNI configuration, written
   here and only here (``berth.cni.defaults``): the ``berth-net`` chain when
   the network agent runs (it can exist before the node has a subnet), else
   the reference bridge network over ``--pod-cidr`` when the conf dir is empty;
2. the CNI fast-path server on ``cni_socket``, started before the first pod,
   so every plugin exec'd for a sandbox is a thin client of this process;
3. the API client (kubeconfig, ``--server`` overriding its URL);
4. the kubelet role (``berth.node.NodeAgent``) on the OCI runtime, and its
   logs/exec endpoint;
5. beside it, each supervised (a failure is logged and retried with backoff,
   never taking the kubelet role down): the network agent
   (``berth.netagent``), and the Service plane (``berth.daemon.services``:
   proxy and cluster DNS).

With the network agent, the Node registers without ``spec.podCIDR``: the
node IPAM controller assigns it and the agent waits for it.  Without it, the
node names its own subnet (``--pod-cidr``).  Cancelling stops everything and
closes the client; pods keep running and a restarted process adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import ipaddress
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from berth.api.addressplan import AddressPlan
from berth.client import Client, load_config
from berth.client.retry import retry_forever
from berth.cni.client import CNIClient
from berth.cni.defaults import ensure_default_conf, meta_conflist, write_conflist
from berth.cni.server import FastPathServer
from berth.daemon.services import check_service_plane, run_service_plane
from berth.dns.server import LISTEN_PORT
from berth.images import ImageStore
from berth.images.busybox import ensure_busybox_image
from berth.netagent import AgentConfig, NetConfigError
from berth.node.agent import NodeAgent
from berth.node.clock import Clock, SystemClock
from berth.node.config import NodeConfig
from berth.node.context import NodeContext
from berth.node.convert import ClusterDNS
from berth.node.endpoint import start_endpoint
from berth.node.errors import NodeConfigError
from berth.node.network import CNINetwork, NetnsExecutor, load_networks
from berth.node.runtime import OCIRuntimeService
from berth.node.static import StaticPods

Companion = Callable[[Client], Awaitable[None]]


@dataclass(frozen=True)
class NodeProcessConfig:
    """Everything one node process runs with; ``validate`` names the flag of a bad value."""

    node: NodeConfig
    plan: AddressPlan  # the cluster's address plan: DNS IP and domain, CIDRs, backend, MTU
    cni_socket: str = ""  # the CNI fast-path server's socket ("": none)
    network_agent: bool = False  # run berth.netagent (needs underlay_device and node_ip)
    underlay_device: str = ""  # the link holding node.node_ip (the nodes' network)
    service_plane: bool = False  # run the proxy and cluster DNS (needs the API)

    def validate(self) -> None:
        self.node.validate()
        if (self.network_agent or self.service_plane) and not (
                self.node.server or self.node.kubeconfig is not None):
            raise NodeConfigError("--kubeconfig or --server: the network agent and the "
                                  "Service proxy need the API")
        if self.network_agent:
            self.agent_config()
        if self.service_plane:
            self.plan.require_dns_ip()
            check_service_plane(str(self.plan.dns_ip), self.plan.cluster_domain, LISTEN_PORT)

    def agent_config(self) -> AgentConfig:
        """The network agent's settings, derived from the node's and the plan."""
        node = self.node
        if not self.underlay_device:
            raise NodeConfigError("--underlay-device: the network agent needs the link that "
                                  "holds --node-ip")
        self.plan.require_ipv4()
        try:
            public = ipaddress.IPv4Address(node.node_ip)
        except ValueError:
            raise NetConfigError(f"--node-ip: {node.node_ip!r}: the network agent needs the "
                                 "node's IPv4 underlay address") from None
        assert node.cni_conf_dir is not None and node.run_dir is not None
        return AgentConfig(
            node_name=node.name, cluster=self.plan, public_ip=public,
            underlay_device=self.underlay_device, netns=node.node_netns,
            subnet_file=Path(node.run_dir) / "subnet.env", cni_conf_dir=node.cni_conf_dir,
            cni_data_dir=node.root / "cni" / "networks", cni_plugin="berth-net",
            cni_socket=self.cni_socket)


def open_client(config: NodeConfig) -> Client | None:
    if not config.server and config.kubeconfig is None:
        return None  # standalone: static pods only
    cluster = load_config(config.kubeconfig, os.environ)
    if config.server:
        cluster = dataclasses.replace(cluster, server=config.server.rstrip("/"))
    return Client(cluster)


def read_token(path: Path | None) -> str:
    """The API server's kubelet-client token from ``--api-server-token-file`` ("" if none)."""
    if path is None:
        return ""
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise NodeConfigError(f"--api-server-token-file: {path}: {exc.strerror}") from exc


def write_cni_conf(cfg: NodeProcessConfig) -> None:
    """The node's CNI configuration, before the first pod (see the module docstring)."""
    node = cfg.node
    assert node.cni_conf_dir is not None
    if cfg.network_agent:
        agent = cfg.agent_config()
        write_conflist(node.cni_conf_dir, meta_conflist(agent.subnet_file, agent.cni_data_dir,
                                                        cfg.cni_socket))
    else:
        ensure_default_conf(node.cni_conf_dir, node.pod_cidr, node.root / "cni" / "networks")


def companions(cfg: NodeProcessConfig) -> list[tuple[str, Companion]]:
    """The parts that run beside the kubelet role, each given the node's API client."""
    parts: list[tuple[str, Companion]] = []
    if cfg.network_agent:
        agent_config = cfg.agent_config()

        async def network_agent(client: Client) -> None:
            from berth.netagent.agent import NetworkAgent

            await NetworkAgent(agent_config, client).run()

        parts.append(("network agent", network_agent))
    if cfg.service_plane:
        node = cfg.node

        async def service_plane(client: Client) -> None:
            await run_service_plane(client, node.name, [node.node_ip] if node.node_ip else [],
                                    str(cfg.plan.dns_ip), cfg.plan.cluster_domain,
                                    netns=node.node_netns or None)

        parts.append(("service plane", service_plane))
    return parts


async def run_node_process(cfg: NodeProcessConfig, clock: Clock | None = None) -> None:
    """Run the node until cancelled (see the module docstring)."""
    cfg.validate()
    if os.geteuid() != 0:
        raise NodeConfigError("berth node must run as root: it creates network namespaces, "
                              "mounts and cgroups")
    config = cfg.node
    root = config.root
    assert config.cni_conf_dir is not None and config.run_dir is not None
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    images = ImageStore(config.image_dir)
    await asyncio.to_thread(ensure_busybox_image, images)
    await asyncio.to_thread(write_cni_conf, cfg)
    executor = NetnsExecutor(config.node_netns)
    fastpath = FastPathServer(cfg.cni_socket) if cfg.cni_socket else None
    if fastpath is not None:
        fastpath.start()
    client = open_client(config)
    try:
        cni = CNIClient(config.cni_bin_dirs, cache_dir=str(root / "cni" / "cache"))
        networks = await asyncio.to_thread(load_networks, config.cni_conf_dir)
        runtime = await asyncio.to_thread(  # reads its state records: off the loop
            OCIRuntimeService, root / "runtime", config.run_dir, images,
            node_name=config.name, runtime_name=config.runtime,
            network=CNINetwork(cni, networks, executor))
        ctx = NodeContext(node_name=config.name, runtime=runtime, executor=executor,
                          clock=clock or SystemClock(), root_dir=root,
                          host_ip=config.node_ip or "127.0.0.1", client=client,
                          dns=ClusterDNS((str(cfg.plan.require_dns_ip()),),
                                         cfg.plan.cluster_domain),
                          max_log_bytes=config.container_log_max_bytes)
        static = StaticPods(config.pod_manifest_path, config.name) \
            if config.pod_manifest_path is not None else None
        agent = NodeAgent(ctx, port=config.port, runtime_name=config.runtime,
                          pod_cidr="" if cfg.network_agent else config.pod_cidr,
                          heartbeat_seconds=config.heartbeat_seconds, static_pods=static)
        token = await asyncio.to_thread(read_token, config.api_token_file)
        endpoint = await start_endpoint(ctx, root / "pki", config.bind_address, config.port,
                                        token)
        try:
            await asyncio.gather(agent.run(), *(
                retry_forever(name, functools.partial(fn, client))
                for name, fn in companions(cfg) if client is not None))
        finally:
            await endpoint.cleanup()
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        executor.close()
        if fastpath is not None:
            await asyncio.to_thread(fastpath.stop)
