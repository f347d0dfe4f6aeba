"""Assembling a node agent from its ``NodeConfig``: what ``berth node`` runs.

``run_node`` builds the pieces in dependency order - API client (kubeconfig,
``--server`` overriding its URL), image store with the built-in busybox,
the node-netns executor, CNI conf (berth's default written when the conf dir
is empty) and client, the OCI runtime with the CNI hook, the logs/exec
endpoint - then runs the ``NodeAgent`` until cancelled.  Cancelling stops
the agent's tasks and closes the client; the pods keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from pathlib import Path

from berth.client import Client, load_config
from berth.cni.client import CNIClient
from berth.images import ImageStore
from berth.images.busybox import ensure_busybox_image
from berth.node.agent import NodeAgent
from berth.node.clock import Clock, SystemClock
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


async def run_node(config: NodeConfig, clock: Clock | None = None) -> None:
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
    cni = CNIClient(config.cni_bin_dirs, cache_dir=str(root / "cni" / "cache"))
    network = CNINetwork(cni, load_networks(config.cni_conf_dir), executor)
    runtime = OCIRuntimeService(root / "runtime", config.run_dir, images,
                                node_name=config.name, runtime_name=config.runtime,
                                network=network)
    client = open_client(config)
    ctx = NodeContext(node_name=config.name, runtime=runtime, executor=executor,
                      clock=clock or SystemClock(), root_dir=root,
                      host_ip=config.node_ip or "127.0.0.1", client=client,
                      dns=ClusterDNS((config.cluster_dns,), config.cluster_domain),
                      max_log_bytes=config.container_log_max_bytes)
    token = _read_token(config.api_token_file)
    static = StaticPods(config.pod_manifest_path, config.name) \
        if config.pod_manifest_path is not None else None
    agent = NodeAgent(ctx, port=config.port, runtime_name=config.runtime,
                      pod_cidr=config.pod_cidr, heartbeat_seconds=config.heartbeat_seconds,
                      static_pods=static)
    endpoint = await start_endpoint(ctx, root / "pki", config.bind_address, config.port, token)
    try:
        await agent.run()
    finally:
        await endpoint.cleanup()
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        executor.close()


def _read_token(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise NodeConfigError(f"--api-server-token-file: {path}: {exc.strerror}") from exc
