"""``python -m berth.netagent``: run one node's network agent on its own.

The one-machine cluster starts one per node (inside the node's network
namespace, beside ``berth node``) until the node agent embeds
``NetworkAgent``; on a real host it can run the same way.  Flags map onto
``AgentConfig``; a bad flag is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from berth.netagent.config import AgentConfig, ClusterNetwork
from berth.netagent.errors import NetAgentError, NetConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m berth.netagent",
                                description="berth's per-node network agent")
    p.add_argument("--name", required=True, help="this node's Node name")
    p.add_argument("--kubeconfig", help="kubeconfig with the node's credentials")
    p.add_argument("--server", default="", help="API server URL (overrides the kubeconfig's)")
    p.add_argument("--backend", default="vxlan", help="vxlan or host-gw")
    p.add_argument("--pod-network-cidr", default="10.244.0.0/16")
    p.add_argument("--service-cidr", default="10.96.0.0/12")
    p.add_argument("--node-cidr-mask-size", type=int, default=24)
    p.add_argument("--underlay-mtu", type=int, default=1500)
    p.add_argument("--public-ip", required=True, help="this node's underlay address")
    p.add_argument("--underlay-device", required=True, help="the link holding --public-ip")
    p.add_argument("--netns", default="", help="program this network namespace")
    p.add_argument("--subnet-file", type=Path, default=Path("/run/berth/subnet.env"))
    p.add_argument("--cni-conf-dir", type=Path, default=None)
    p.add_argument("--cni-data-dir", type=Path, default=Path("/var/lib/berth/cni/networks"))
    p.add_argument("--cni-plugin", default="bridge", help="bridge or berth-net")
    p.add_argument("--resync-seconds", type=float, default=10.0)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def config_from_args(args: argparse.Namespace) -> AgentConfig:
    cluster = ClusterNetwork.parse(args.pod_network_cidr, args.service_cidr,
                                   args.node_cidr_mask_size, args.backend, args.underlay_mtu)
    try:
        public = ipaddress.IPv4Address(args.public_ip)
    except ValueError:
        raise NetConfigError(f"--public-ip: {args.public_ip!r} is not an IPv4 address") from None
    return AgentConfig(node_name=args.name, cluster=cluster, public_ip=public,
                       underlay_device=args.underlay_device, netns=args.netns,
                       subnet_file=args.subnet_file, cni_conf_dir=args.cni_conf_dir,
                       cni_data_dir=args.cni_data_dir, cni_plugin=args.cni_plugin,
                       resync_seconds=args.resync_seconds)


async def serve(config: AgentConfig, kubeconfig: str | None, server: str) -> None:
    from berth.client import Client, load_config
    from berth.netagent.agent import NetworkAgent

    cluster = load_config(kubeconfig, os.environ)
    if server:
        cluster = dataclasses.replace(cluster, server=server.rstrip("/"))
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    async with Client(cluster) as client:
        with contextlib.suppress(asyncio.CancelledError):
            await NetworkAgent(config, client).run()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
        asyncio.run(serve(config, args.kubeconfig, args.server))
    except NetAgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
