"""``berth node``: everything one node runs, in one process (``berth.daemon.node``).

This module only turns flags into a ``berth.daemon.node.NodeProcessConfig``:
the kubelet role's flags map one to one onto ``berth.node.config.NodeConfig``;
the cluster-wide ones (``--pod-network-cidr``, ``--service-cidr``,
``--cluster-dns``, ``--backend``, ...) become the cluster's address plan
(``berth.api.addressplan``); and three switches say what runs beside the
kubelet role:

- the CNI fast-path server on ``--cni-socket`` (default RUN_DIR/cni.sock);
- the network agent when the node's network is described
  (``--underlay-device``; ``--network-agent=false`` switches it off for setups
  that bring their own CNI config);
- the Service proxy and cluster DNS (``--proxy``), on by default when the node
  talks to an API server.

The process runs until interrupted.  Stopping it (even SIGKILL) leaves the
pods and their network running: the next ``berth node`` with the same
``--name`` and ``--root-dir`` adopts them and the agent finds its routes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from berth.api import addressplan as plan
from berth.node.config import DEFAULT_CNI_BIN_DIRS, DEFAULT_IMAGE_DIR, DEFAULT_PORT, NodeConfig

if TYPE_CHECKING:
    from berth.daemon.node import NodeProcessConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="the Node's name")
    parser.add_argument("--server", default="", help="API server URL (overrides the "
                        "kubeconfig's); without it and --kubeconfig: static pods only")
    parser.add_argument("--kubeconfig", help="kubeconfig with the node's credentials")
    parser.add_argument("--root-dir", type=Path, help="state (default /var/lib/berth/NAME)")
    parser.add_argument("--run-dir", type=Path, help="runtime state (default /run/berth/NAME)")
    parser.add_argument("--image-dir", type=Path, default=DEFAULT_IMAGE_DIR,
                        help=f"the image store (default {DEFAULT_IMAGE_DIR})")
    parser.add_argument("--cni-conf-dir", type=Path,
                        help="CNI network configs (default ROOT/cni/net.d, where berth "
                        "writes a bridge + host-local + loopback default when empty)")
    parser.add_argument("--cni-bin-dir", action="append", default=None,
                        help="CNI plugin directory (repeatable; default "
                        f"{', '.join(DEFAULT_CNI_BIN_DIRS)})")
    parser.add_argument("--runtime", default="runc", choices=("runc", "crun"))
    parser.add_argument("--pod-manifest-path", type=Path, help="directory of static pods")
    parser.add_argument("--node-netns", default="",
                        help="network namespace of the node's pod network (CNI, probes)")
    parser.add_argument("--node-ip", default="", help="the node's InternalIP "
                        "(default 127.0.0.1)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="where the logs/exec endpoint listens")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="logs/exec endpoint port")
    parser.add_argument("--pod-cidr", default=str(plan.DEFAULT_PLAN.node_subnet(0)),
                        help="this node's pod subnet, for the default CNI network when no "
                        "network agent runs")
    parser.add_argument("--cluster-dns", default="",
                        help="cluster DNS IP for pods' resolv.conf (default: the tenth "
                             f"address of --service-cidr, {plan.DEFAULT_PLAN.dns_ip})")
    parser.add_argument("--cluster-domain", default=plan.DEFAULT_CLUSTER_DOMAIN)
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
                        help="run the Service proxy and cluster DNS (berth.daemon.services; "
                        "auto: when the node talks to an API server)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every pod action")


def add_network_agent_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network agent")
    group.add_argument("--network-agent", default="auto", choices=("auto", "true", "false"),
                       help="run the network agent (auto: when --underlay-device is given)")
    group.add_argument("--backend", default=plan.DEFAULT_BACKEND,
                       help=" or ".join(plan.BACKENDS))
    group.add_argument("--pod-network-cidr", default=plan.DEFAULT_CLUSTER_CIDR)
    group.add_argument("--service-cidr", default=plan.DEFAULT_SERVICE_CIDR)
    group.add_argument("--node-cidr-mask-size", type=int, default=plan.DEFAULT_NODE_MASK)
    group.add_argument("--underlay-mtu", type=int, default=plan.DEFAULT_UNDERLAY_MTU)
    group.add_argument("--underlay-device", default="",
                       help="the link holding --node-ip (the nodes' network)")


def process_config(args: argparse.Namespace) -> NodeProcessConfig:
    """The flags as a ``NodeProcessConfig`` (AddressPlanError/NodeConfigError name a flag)."""
    from berth.api.addressplan import AddressPlan
    from berth.daemon.node import NodeProcessConfig

    plan = AddressPlan.parse(args.pod_network_cidr, args.service_cidr,
                             args.node_cidr_mask_size, args.backend, args.underlay_mtu,
                             dns_ip=args.cluster_dns, cluster_domain=args.cluster_domain)
    node = NodeConfig(
        name=args.name, server=args.server, kubeconfig=args.kubeconfig,
        root_dir=args.root_dir, run_dir=args.run_dir, image_dir=args.image_dir,
        cni_conf_dir=args.cni_conf_dir,
        cni_bin_dirs=args.cni_bin_dir or list(DEFAULT_CNI_BIN_DIRS),
        runtime=args.runtime, pod_manifest_path=args.pod_manifest_path,
        node_netns=args.node_netns, node_ip=args.node_ip, bind_address=args.address,
        port=args.port, pod_cidr=args.pod_cidr, api_token_file=args.api_server_token_file,
        container_log_max_bytes=args.container_log_max_size)
    talks_to_api = bool(args.server or args.kubeconfig)
    return NodeProcessConfig(
        node=node, plan=plan,
        cni_socket="" if args.cni_socket == "off" else
        args.cni_socket or str(Path(str(node.run_dir)) / "cni.sock"),
        network_agent=args.network_agent == "true" or (
            args.network_agent == "auto" and bool(args.underlay_device)),
        underlay_device=args.underlay_device,
        service_plane=args.proxy == "true" or (args.proxy == "auto" and talks_to_api))


def main(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os
    import sys

    from berth.api.addressplan import AddressPlanError
    from berth.daemon.node import run_node_process
    from berth.netagent.errors import NetAgentError
    from berth.node.errors import NodeConfigError

    level = logging.DEBUG if os.environ.get("BERTH_NODE_DEBUG") else \
        logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = process_config(args)
        config.validate()
        asyncio.run(run_node_process(config))
    except (NodeConfigError, NetAgentError, AddressPlanError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
