"""``berth node``: run the node agent (kubelet role) for one node.

Flags map one to one onto ``berth.node.config.NodeConfig``; the agent runs
until interrupted.  Stopping it (even SIGKILL) leaves the pods running: the
next ``berth node`` with the same ``--name`` and ``--root-dir`` adopts them.
"""

from __future__ import annotations

import argparse
from pathlib import Path


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
    parser.add_argument("--cluster-dns", default="10.96.0.10")
    parser.add_argument("--cluster-domain", default="cluster.local")
    parser.add_argument("--api-server-token-file", type=Path,
                        help="the API server's kubelet-client token (the only credential "
                        "the logs/exec endpoint accepts)")
    parser.add_argument("--container-log-max-size", type=int, default=10 << 20,
                        metavar="BYTES", help="rotate a container's log past this size "
                        "(default 10 MiB; one rotated file is kept)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every pod action")


def main(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os
    import sys

    from berth.node.config import NodeConfig
    from berth.node.errors import NodeConfigError
    from berth.node.run import run_node

    logging.basicConfig(level=logging.DEBUG if os.environ.get("BERTH_NODE_DEBUG") else logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = NodeConfig(
        name=args.name, server=args.server, kubeconfig=args.kubeconfig,
        root_dir=args.root_dir, run_dir=args.run_dir, image_dir=args.image_dir,
        cni_conf_dir=args.cni_conf_dir,
        cni_bin_dirs=args.cni_bin_dir or ["/usr/lib/cni", "/opt/cni/bin"],
        runtime=args.runtime, pod_manifest_path=args.pod_manifest_path,
        node_netns=args.node_netns, node_ip=args.node_ip, bind_address=args.address,
        port=args.port, pod_cidr=args.pod_cidr, cluster_dns=args.cluster_dns,
        cluster_domain=args.cluster_domain, api_token_file=args.api_server_token_file,
        container_log_max_bytes=args.container_log_max_size)
    try:
        asyncio.run(run_node(config))
    except NodeConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
