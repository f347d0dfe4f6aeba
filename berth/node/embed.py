"""One process per node: the node agent with its companions on one asyncio loop.

``berth node`` is kubelet, network agent, CNI fast-path server and (later)
proxy and DNS in one process, as ARCHITECTURE.md's "Processes" describes.
``run_node_with`` assembles the node agent like ``berth.node.run.run_node``
(same pieces, same order) and adds:

- the CNI fast-path server (``berth.cni.server.FastPathServer``) on
  ``cni_socket``, started before the first pod so every plugin exec'd for a
  sandbox is a thin client of this process (threads; nothing on the loop);
- ``companions``: coroutine functions given the node's API client, run beside
  the agent until it stops (the network agent; the proxy and DNS hook in the
  same way).  One that fails is logged and restarted after a second: a
  companion never takes the kubelet role down with it;
- ``register_pod_cidr``: False when the cluster's node IPAM controller owns
  ``spec.podCIDR`` (the node registers without one and the network agent
  waits for it), True for the standalone node that names its own subnet.

Cancelling stops companions, the agent and the fast-path server; pods keep
running and a restarted process adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from berth.client import Client
from berth.cni.client import CNIClient
from berth.cni.server import FastPathServer
from berth.images import ImageStore
from berth.images.busybox import ensure_busybox_image
from berth.node.agent import NodeAgent
from berth.node.clock import SystemClock
from berth.node.config import NodeConfig
from berth.node.context import NodeContext
from berth.node.convert import ClusterDNS
from berth.node.endpoint import start_endpoint
from berth.node.errors import NodeConfigError
from berth.node.network import CNINetwork, NetnsExecutor, ensure_default_conf, load_networks
from berth.node.run import _read_token, open_client
from berth.node.runtime import OCIRuntimeService
from berth.node.static import StaticPods

Companion = Callable[[Client], Awaitable[None]]
log = logging.getLogger("berth.node")


async def keep_running(name: str, companion: Companion, client: Client) -> None:
    """Run ``companion`` until cancelled, restarting it a second after any failure."""
    while True:
        try:
            await companion(client)
            log.warning("%s returned; restarting it in 1 s", name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; restarting it in 1 s", name)
        await asyncio.sleep(1.0)


async def run_node_with(config: NodeConfig, *, cni_socket: str = "",
                        companions: Sequence[tuple[str, Companion]] = (),
                        register_pod_cidr: bool = True) -> None:
    """``run_node`` plus the fast-path server and companions (see the module docstring)."""
    import os

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
    if companions and client is None:
        raise NodeConfigError("--kubeconfig or --server: the network agent needs the API")
    try:
        cni = CNIClient(config.cni_bin_dirs, cache_dir=str(root / "cni" / "cache"))
        network = CNINetwork(cni, load_networks(config.cni_conf_dir), executor)
        runtime = OCIRuntimeService(root / "runtime", config.run_dir, images,
                                    node_name=config.name, runtime_name=config.runtime,
                                    network=network)
        ctx = NodeContext(node_name=config.name, runtime=runtime, executor=executor,
                          clock=SystemClock(), root_dir=root,
                          host_ip=config.node_ip or "127.0.0.1", client=client,
                          dns=ClusterDNS((config.cluster_dns,), config.cluster_domain),
                          max_log_bytes=config.container_log_max_bytes)
        static = StaticPods(config.pod_manifest_path, config.name) \
            if config.pod_manifest_path is not None else None
        agent = NodeAgent(ctx, port=config.port, runtime_name=config.runtime,
                          pod_cidr=config.pod_cidr if register_pod_cidr else "",
                          heartbeat_seconds=config.heartbeat_seconds, static_pods=static)
        endpoint = await start_endpoint(ctx, root / "pki", config.bind_address, config.port,
                                        _read_token(config.api_token_file))
        try:
            assert client is not None or not companions
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
