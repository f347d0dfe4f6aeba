"""Pod networking through the CNI client, run inside the node's network namespace.

The agent may live in one namespace (where it reaches the API server) while
its node's pod network lives in another (``--node-netns``, as in the
one-machine cluster and in tests).  ``NetnsExecutor`` is a small thread pool
whose threads have entered the node's network namespace once: CNI plugins
forked from them, and probe sockets opened by them, live there.
``CNINetwork`` is the runtime's ``SandboxNetwork`` hook: ADD of the loopback
network and the pod network on sandbox creation (pod IP from the result),
DEL in reverse on teardown; the client caches results for DEL.
The conf dir's contents are written where the node process is assembled
(``berth.daemon.node``, with ``berth.cni.defaults``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from berth.cni.client import CNIClient, RuntimeConf, pod_args
from berth.cni.confdir import NetworkConfigList, load_conf_dir
from berth.cni.errors import CNIError
from berth.host import netns
from berth.node.errors import NetworkSetupError, NodeConfigError
from berth.node.runtime.protocol import PodSandboxConfig, PodSandboxNetworkStatus

T = TypeVar("T")


class NetnsExecutor:
    """Run blocking calls on threads inside one network namespace (or the current one)."""

    def __init__(self, netns_name: str = "", workers: int = 4) -> None:
        self.netns_name = netns_name
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="berth-node-net",
            initializer=self._enter if netns_name else None)

    def _enter(self) -> None:
        fd = netns.open_netns(self.netns_name)
        try:
            netns.setns(fd)
        finally:
            os.close(fd)

    async def run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def load_networks(conf_dir: Path) -> list[NetworkConfigList]:
    """Loopback networks first, then the first other network (the pod network)."""
    try:
        nets = load_conf_dir(str(conf_dir))
    except CNIError as exc:
        raise NodeConfigError(f"CNI conf dir {conf_dir}: {exc}") from exc
    loopbacks = [n for n in nets if [p["type"] for p in n.plugins] == ["loopback"]]
    others = [n for n in nets if n not in loopbacks]
    if not others:
        raise NodeConfigError(f"CNI conf dir {conf_dir}: no pod network configuration")
    return loopbacks + others[:1]


class CNINetwork:
    """SandboxNetwork: CNI ADD/DEL of the node's networks for each sandbox."""

    def __init__(self, client: CNIClient, networks: list[NetworkConfigList],
                 executor: NetnsExecutor) -> None:
        self.client, self.networks, self.executor = client, networks, executor

    def _rt(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig,
            ifname: str) -> RuntimeConf:
        m = config.metadata
        return RuntimeConf(container_id=sandbox_id, netns=netns_path, ifname=ifname,
                           args=pod_args(m.namespace, m.name, sandbox_id, m.uid))

    @staticmethod
    def _ifname(net: NetworkConfigList) -> str:
        return "lo" if [p["type"] for p in net.plugins] == ["loopback"] else "eth0"

    async def setup(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                    ) -> PodSandboxNetworkStatus:
        ips: list[str] = []
        for net in self.networks:
            rt = self._rt(sandbox_id, netns_path, config, self._ifname(net))
            try:
                result = await self.executor.run(functools.partial(self.client.add, net, rt))
            except CNIError as exc:
                raise NetworkSetupError(f"CNI ADD of network {net.name!r}: {exc}") from exc
            ips += [str(ip.address.ip) for ip in result.ips if not ip.address.ip.is_loopback]
        return PodSandboxNetworkStatus(ip=ips[0] if ips else "", additional_ips=ips[1:])

    async def status(self) -> str:
        """CNI STATUS of each network (1.1.0 configs; older ones are ready once loaded)."""
        for net in self.networks:
            try:
                await self.executor.run(functools.partial(self.client.status, net))
            except CNIError as exc:
                return f"network {net.name!r}: {exc}"
        return ""

    async def teardown(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                       ) -> None:
        failures = []
        for net in reversed(self.networks):
            rt = self._rt(sandbox_id, netns_path, config, self._ifname(net))
            try:
                await self.executor.run(functools.partial(self.client.delete, net, rt))
            except CNIError as exc:
                failures.append(f"network {net.name!r}: {exc}")
        if failures:
            raise NetworkSetupError("CNI DEL failed: " + "; ".join(failures))
