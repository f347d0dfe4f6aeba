"""``berth node``: everything one node runs, in one process.

The kubelet role's flags map one to one onto ``berth.node.config.NodeConfig``.
Beside it, on the same asyncio loop (``berth.node.run.run_node``):

- the CNI fast-path server on ``--cni-socket`` (default RUN_DIR/cni.sock), so
  the plugins exec'd for each sandbox are thin clients of this process;
- the network agent (``berth.netagent.NetworkAgent``) when the node's
  network is described (``--underlay-device``; ``--network-agent=false``
  switches it off for setups that bring their own CNI config): it writes the
  node's ``berth-net`` conflist (naming the socket) before the first pod and
  the subnet.env once the node IPAM controller gave the Node its podCIDR;
  then the node registers without a podCIDR of its own;
- the Service proxy and cluster DNS (``berth.node.services``, ``--proxy``):
  table ``inet berth`` and a DNS server on port 10053 that the table reaches
  from ``--cluster-dns``:53, on by default when the node talks to an API server.

The process runs until interrupted.  Stopping it (even SIGKILL) leaves the
pods and their network running: the next ``berth node`` with the same
``--name`` and ``--root-dir`` adopts them and the agent finds its routes.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from berth.node.config import NodeConfig

if TYPE_CHECKING:
    from berth.client import Client


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="the Node's name")
    parser.add_argument("--server", default="", help="API server URL (overrides the "
                        "kubeconfig's); without it and --kubeconfig: static pods only")
    parser.add_argument("--kubeconfig", help="kubeconfig with the node's credentials")
    parser.add_argument("--root-dir", type=Path, help="state (default /var/lib/berth/NAME)")
    parser.add_argument("--run-dir", type=Path, help="runtime state (default /run/berth/NAME)")
    parser.add_argument("--image-dir", type=Path, default=Path("/var/lib/berth/images"),
                        help="the image store (default /var/lib/berth/images)")
    parser.add_argument("--cni-conf-dir", type=Path,
                        help="CNI network configs (default ROOT/cni/net.d, where berth "
                        "writes a bridge + host-local + loopback default when empty)")
    parser.add_argument("--cni-bin-dir", action="append", default=None,
                        help="CNI plugin directory (repeatable; default /usr/lib/cni, "
                        "/opt/cni/bin)")
    parser.add_argument("--runtime", default="runc", choices=("runc", "crun"))
    parser.add_argument("--pod-manifest-path", type=Path, help="directory of static pods")
    parser.add_argument("--node-netns", default="",
                        help="network namespace of the node's pod network (CNI, probes)")
    parser.add_argument("--node-ip", default="", help="the node's InternalIP "
                        "(default 127.0.0.1)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="where the logs/exec endpoint listens")
    parser.add_argument("--port", type=int, default=10250, help="logs/exec endpoint port")
    parser.add_argument("--pod-cidr", default="10.244.0.0/24",
                        help="pod subnet of the default CNI network")
    parser.add_argument("--cluster-dns", default="",
                        help="cluster DNS IP for pods' resolv.conf (default: the tenth "
                             "address of --service-cidr, 10.96.0.10)")
    parser.add_argument("--cluster-domain", default="cluster.local")
    parser.add_argument("--api-server-token-file", type=Path,
                        help="the API server's kubelet-client token (the only credential "
                        "the logs/exec endpoint accepts)")
    parser.add_argument("--container-log-max-size", type=int, default=10 << 20,
                        metavar="BYTES", help="rotate a container's log past this size "
                        "(default 10 MiB; one rotated file is kept)")
    parser.add_argument("--cni-socket", default="", help="CNI fast-path server socket "
                        "(default RUN_DIR/cni.sock; 'off': none)")
    add_network_agent_arguments(parser)
    parser.add_argument("--proxy", default="auto", choices=("auto", "true", "false"),
                        help="run the Service proxy and cluster DNS (berth.node.services; "
                        "auto: when the node talks to an API server)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every pod action")


def add_network_agent_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network agent")
    group.add_argument("--network-agent", default="auto", choices=("auto", "true", "false"),
                       help="run the network agent (auto: when --underlay-device is given)")
    group.add_argument("--backend", default="vxlan", help="vxlan or host-gw")
    group.add_argument("--pod-network-cidr", default="10.244.0.0/16")
    group.add_argument("--service-cidr", default="10.96.0.0/12")
    group.add_argument("--node-cidr-mask-size", type=int, default=24)
    group.add_argument("--underlay-mtu", type=int, default=1500)
    group.add_argument("--underlay-device", default="",
                       help="the link holding --node-ip (the nodes' network)")


def _default_cluster_dns(service_cidr: str) -> str:
    """The kubeadm convention: the DNS Service holds the tenth address of the range."""
    import ipaddress

    from berth.cli.errors import UsageError

    try:
        return str(ipaddress.ip_network(service_cidr, strict=False)[10])
    except (ValueError, IndexError) as exc:
        raise UsageError(f"--service-cidr: {service_cidr!r} has no tenth address for the "
                         "cluster DNS; give --cluster-dns") from exc


def main(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os
    import sys

    from berth.netagent.errors import NetAgentError
    from berth.node.errors import NodeConfigError
    from berth.node.run import run_node

    level = logging.DEBUG if os.environ.get("BERTH_NODE_DEBUG") else \
        logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = NodeConfig(
        name=args.name, server=args.server, kubeconfig=args.kubeconfig,
        root_dir=args.root_dir, run_dir=args.run_dir, image_dir=args.image_dir,
        cni_conf_dir=args.cni_conf_dir,
        cni_bin_dirs=args.cni_bin_dir or ["/usr/lib/cni", "/opt/cni/bin"],
        runtime=args.runtime, pod_manifest_path=args.pod_manifest_path,
        node_netns=args.node_netns, node_ip=args.node_ip, bind_address=args.address,
        port=args.port, pod_cidr=args.pod_cidr,
        cluster_dns=args.cluster_dns or _default_cluster_dns(args.service_cidr),
        cluster_domain=args.cluster_domain, api_token_file=args.api_server_token_file,
        container_log_max_bytes=args.container_log_max_size)
    try:
        socket = _socket_path(args, config)
        companions = []
        if _wants_network_agent(args):
            companions.append(("network agent", _network_agent(args, config, socket)))
        agent_runs = bool(companions)
        # --- service plane (berth.node.services): proxy + cluster DNS as a companion ---
        if args.proxy == "true" or (args.proxy == "auto" and (args.server or args.kubeconfig)):
            companions.append(("service plane", _service_plane(config)))
        # --- end of the service plane ---
        asyncio.run(run_node(config, cni_socket=socket, companions=companions,
                                  register_pod_cidr=not agent_runs))
    except (NodeConfigError, NetAgentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _socket_path(args: argparse.Namespace, config: NodeConfig) -> str:
    if args.cni_socket == "off":
        return ""
    return args.cni_socket or str(Path(str(config.run_dir)) / "cni.sock")


def _wants_network_agent(args: argparse.Namespace) -> bool:
    from berth.node.errors import NodeConfigError

    if args.network_agent == "auto":
        return bool(args.underlay_device)
    if args.network_agent == "true" and not args.underlay_device:
        raise NodeConfigError("--underlay-device: the network agent needs the link that "
                              "holds --node-ip")
    return args.network_agent == "true"


def _network_agent(args: argparse.Namespace, config: NodeConfig, socket: str
                   ) -> Callable[[Client], Awaitable[None]]:
    """The agent's settings, checked now; its conflist written before the first pod."""
    import ipaddress

    from berth.netagent import AgentConfig, ClusterNetwork
    from berth.netagent.errors import NetConfigError
    from berth.netagent.files import render_meta_conflist, write_conflist

    cluster = ClusterNetwork.parse(args.pod_network_cidr, args.service_cidr,
                                   args.node_cidr_mask_size, args.backend, args.underlay_mtu)
    try:
        public = ipaddress.IPv4Address(config.node_ip)
    except ValueError:
        raise NetConfigError(f"--node-ip: {config.node_ip!r}: the network agent needs the "
                             "node's IPv4 underlay address") from None
    assert config.cni_conf_dir is not None and config.run_dir is not None
    agent_config = AgentConfig(
        node_name=config.name, cluster=cluster, public_ip=public,
        underlay_device=args.underlay_device, netns=config.node_netns,
        subnet_file=Path(config.run_dir) / "subnet.env", cni_conf_dir=config.cni_conf_dir,
        cni_data_dir=config.root / "cni" / "networks", cni_plugin="berth-net",
        cni_socket=socket)
    write_conflist(config.cni_conf_dir, render_meta_conflist(
        agent_config.subnet_file, agent_config.cni_data_dir, socket))

    async def run(client: Client) -> None:
        from berth.netagent.agent import NetworkAgent

        await NetworkAgent(agent_config, client).run()

    return run


def _service_plane(config: NodeConfig) -> Callable[[Client], Awaitable[None]]:
    """The proxy and cluster DNS of this node (``berth.node.services``), settings checked now."""
    from berth.dns.server import LISTEN_PORT
    from berth.node.services import check_service_plane, run_service_plane

    check_service_plane(config.cluster_dns, config.cluster_domain, LISTEN_PORT)

    async def run(client: Client) -> None:
        await run_service_plane(client, config.name, [config.node_ip] if config.node_ip else [],
                                config.cluster_dns, config.cluster_domain,
                                netns=config.node_netns or None)

    return run
