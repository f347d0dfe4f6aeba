"""Assembling a node from its ``NodeConfig``: what ``berth node`` runs.

``run_node`` builds the pieces in dependency order - image store with the
built-in busybox, the node-netns executor, CNI conf (berth's default written
when the conf dir is empty), the CNI fast-path server on ``cni_socket``
(started before the first pod, so every plugin exec'd for a sandbox is a thin
client of this process), the API client (kubeconfig, ``--server``
overriding its URL), CNI client, the OCI runtime with the CNI hook, the
logs/exec endpoint - then runs the ``NodeAgent`` and its ``companions``
(``berth.node.companions``: network agent, service plane) until cancelled.
``register_pod_cidr=False`` registers the Node without ``spec.podCIDR``:
the cluster's node IPAM controller assigns it and the network agent waits
for it; True is the standalone node that names its own subnet.  Cancelling
stops the companions, the agent and the fast-path server and closes the
client; the pods keep running and a restarted process adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from berth.client import Client, load_config
from berth.cni.client import CNIClient
from berth.cni.server import FastPathServer
from berth.images import ImageStore
from berth.images.busybox import ensure_busybox_image
from berth.node.agent import NodeAgent
from berth.node.clock import Clock, SystemClock
from berth.node.companions import Companion, keep_running
from berth.node.config import NodeConfig
from berth.node.context import NodeContext
from berth.node.convert import ClusterDNS
from berth.node.endpoint import start_endpoint
from berth.node.errors import NodeConfigError
from berth.node.network import CNINetwork, NetnsExecutor, ensure_default_conf, load_networks
from berth.node.runtime import OCIRuntimeService
from berth.node.static import StaticPods


def open_client(config: NodeConfig) -> Client | None:
    if not config.server and config.kubeconfig is None:
        return None  # standalone: static pods only
    cluster = load_config(config.kubeconfig, os.environ)
    if config.server:
        cluster = dataclasses.replace(cluster, server=config.server.rstrip("/"))
    return Client(cluster)


async def run_node(config: NodeConfig, clock: Clock | None = None, *, cni_socket: str = "",
                   companions: Sequence[tuple[str, Companion]] = (),
                   register_pod_cidr: bool = True) -> None:
    """Run the node until cancelled (see the module docstring)."""
    config.validate()
    if os.geteuid() != 0:
        raise NodeConfigError("berth node must run as root: it creates network namespaces, "
                              "mounts and cgroups")
    root = config.root
    root.mkdir(parents=True, exist_ok=True)
    assert config.cni_conf_dir is not None and config.run_dir is not None
    images = ImageStore(config.image_dir)
    await asyncio.to_thread(ensure_busybox_image, images)
    executor = NetnsExecutor(config.node_netns)
    ensure_default_conf(config.cni_conf_dir, config.pod_cidr, root / "cni" / "networks")
    fastpath = FastPathServer(cni_socket) if cni_socket else None
    if fastpath is not None:
        fastpath.start()
    client = open_client(config)
    try:
        if companions and client is None:
            raise NodeConfigError("--kubeconfig or --server: the network agent needs the API")
        cni = CNIClient(config.cni_bin_dirs, cache_dir=str(root / "cni" / "cache"))
        network = CNINetwork(cni, load_networks(config.cni_conf_dir), executor)
        runtime = OCIRuntimeService(root / "runtime", config.run_dir, images,
                                    node_name=config.name, runtime_name=config.runtime,
                                    network=network)
        ctx = NodeContext(node_name=config.name, runtime=runtime, executor=executor,
                          clock=clock or SystemClock(), root_dir=root,
                          host_ip=config.node_ip or "127.0.0.1", client=client,
                          dns=ClusterDNS((config.cluster_dns,), config.cluster_domain),
                          max_log_bytes=config.container_log_max_bytes)
        static = StaticPods(config.pod_manifest_path, config.name) \
            if config.pod_manifest_path is not None else None
        agent = NodeAgent(ctx, port=config.port, runtime_name=config.runtime,
                          pod_cidr=config.pod_cidr if register_pod_cidr else "",
                          heartbeat_seconds=config.heartbeat_seconds, static_pods=static)
        endpoint = await start_endpoint(ctx, root / "pki", config.bind_address, config.port,
                                        read_token(config.api_token_file))
        try:
            await asyncio.gather(agent.run(), *(keep_running(name, fn, client)
                                                for name, fn in companions
                                                if client is not None))
        finally:
            await endpoint.cleanup()
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        executor.close()
        if fastpath is not None:
            await asyncio.to_thread(fastpath.stop)


def read_token(path: Path | None) -> str:
    """The API server's kubelet-client token from ``--api-server-token-file`` ("" if none)."""
    if path is None:
        return ""
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise NodeConfigError(f"--api-server-token-file: {path}: {exc.strerror}") from exc
