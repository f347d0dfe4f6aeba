"""The node's service plane: the proxy (kube-proxy role) and cluster DNS, in the node process.

``run_service_plane`` is what ``berth node`` runs beside the kubelet role
(``berth.daemon.node`` supervises it).  It prepares the node's network namespace for
Service traffic (``setup_service_sysctls``: IP forwarding, and bridged IPv4
through the nftables hooks so DNAT'd replies between pods on one bridge are
translated back), then shares one ``ServiceWatch`` (a single list+watch of
Services and EndpointSlices) between:

- a ``Proxier`` that keeps table ``inet berth`` in step, and redirects the
  cluster DNS address (``cluster_dns_ip:53``) to the local DNS port;
- a ``ClusterDNS`` answering for ``cluster_domain`` on ``0.0.0.0:dns_port``.

With ``netns`` (``berth node --node-netns``), sysctls, table and DNS sockets
all land in that namespace, never in the process's own.  All three run until
cancelled.  The table is left in place on exit, as
kube-proxy does: a restarted node process rebuilds it with one full sync, and
pods keep reaching Services meanwhile; the node's namespace (one-machine
cluster) goes with ``berth down``; on a machine of its own (``berth init`` /
``join``), ``teardown_service_plane`` deletes the table.  NodePorts answer on
every local address of the node; ``node_addresses`` is only reported in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Sequence

from berth.api.addressplan import DEFAULT_PLAN
from berth.client import Client
from berth.dns import ClusterDNS
from berth.dns.errors import ServeFailed
from berth.dns.server import LISTEN_PORT
from berth.host.netns import entered
from berth.host.sysctl import set_sysctl
from berth.node.errors import NodeConfigError
from berth.proxy import DNSRedirect, Proxier, ServiceWatch

log = logging.getLogger("berth.daemon.services")
SERVICE_SYSCTLS = (("net.ipv4.ip_forward", "1"),
                   ("net.bridge.bridge-nf-call-iptables", "1"))


def setup_service_sysctls(netns: str | None = None) -> None:
    """IP forwarding and bridge-nf-call-iptables on, in ``netns`` or the caller's namespace."""
    with entered(netns) if netns else contextlib.nullcontext():
        for key, value in SERVICE_SYSCTLS:
            set_sysctl(key, value)


def teardown_service_plane(node_name: str, netns: str | None = None) -> None:
    """Delete table ``inet berth`` (succeeds when it is already gone); sysctls stay as set."""
    Proxier(node_name, netns=netns).teardown()


def bind_dns_sockets(netns: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket on ``0.0.0.0:port`` inside ``netns``."""
    with entered(netns):  # a socket belongs to the namespace it is created in
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind(("0.0.0.0", port))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("0.0.0.0", port))
        tcp.listen(128)
    except OSError as exc:
        udp.close()
        tcp.close()
        raise ServeFailed(f"cluster DNS cannot listen on port {port} in {netns}: "
                          f"{exc.strerror or exc}") from exc
    return udp, tcp


def check_service_plane(cluster_dns_ip: str, cluster_domain: str, dns_port: int) -> None:
    """Reject bad settings before anything starts, naming the flag."""
    try:
        ipaddress.IPv4Address(cluster_dns_ip)
    except ValueError:
        raise NodeConfigError(f"--cluster-dns: {cluster_dns_ip!r} is not an IPv4 address"
                              ) from None
    if not cluster_domain.strip("."):
        raise NodeConfigError("--cluster-domain: must not be empty")
    if not 0 < dns_port < 65536:
        raise NodeConfigError(f"dns_port: {dns_port} is not a port")


async def run_service_plane(client: Client, node_name: str, node_addresses: Sequence[str],
                            cluster_dns_ip: str = str(DEFAULT_PLAN.dns_ip),
                            cluster_domain: str = DEFAULT_PLAN.cluster_domain, *,
                            dns_port: int = LISTEN_PORT, netns: str | None = None) -> None:
    """Run the proxy and cluster DNS of ``node_name`` until cancelled (see the module doc).

    ``netns`` (``berth node --node-netns``: the pod network lives in another
    namespace than the node process) puts all of it there: sysctls, table and
    the DNS sockets.
    """
    check_service_plane(cluster_dns_ip, cluster_domain, dns_port)
    await asyncio.to_thread(setup_service_sysctls, netns)
    sockets = await asyncio.to_thread(bind_dns_sockets, netns, dns_port) if netns else None
    watch = ServiceWatch(client)
    proxy = Proxier(node_name, watch=watch, netns=netns,
                    dns=DNSRedirect(cluster_dns_ip, 53, dns_port))
    dns = ClusterDNS(host="0.0.0.0", port=dns_port, domain=cluster_domain.strip("."),
                     source=watch)
    log.info("service plane of %s: DNS %s:53 -> :%d (%s), NodePorts on %s", node_name,
             cluster_dns_ip, dns_port, cluster_domain, ", ".join(node_addresses) or "-")
    tasks = [asyncio.create_task(watch.run(), name="service-watch"),
             asyncio.create_task(proxy.run(), name="proxy"),
             asyncio.create_task(dns.run(sockets), name="cluster-dns")]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # re-raise the first failure (e.g. DNS port in use)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
