"""``berth-bridge``: the bridge main plugin - a veth from the pod to a bridge on the node.

ADD, step by step, each undone by an ``ExitStack`` if a later step fails:
IPAM (``ipam.delegate``), the bridge (``ensure_bridge``: created or reused, MTU,
up, promiscMode), the veth with its peer created directly inside the pod's
namespace (fast path), hairpin mode, the gateway address on the bridge and
forwarding (isGateway), then addresses, routes and the default route
(isDefaultGateway) in the pod.  The plugin acts on the network namespace it
runs in ("the node"); pyroute2 is imported only inside ADD/DEL/CHECK.
DEL releases the IP first, then deletes the pod end (or the host end, found by
its derived name, when the namespace is gone); every missing piece is fine.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import replace
from typing import TYPE_CHECKING

from berth.cni import fastpath
from berth.cni.conf import NetConf, valid_attachments
from berth.cni.errors import CheckFailed, InvalidConfig, InvalidEnvironment
from berth.cni.plugins import ipam
from berth.cni.plugins.bridge_conf import (
    VETH_PREFIX,
    BridgeConf,
    attach_result,
    bridge_addresses,
    host_veth_name,
    parse_bridge_conf,
    plan_gateways,
    plan_routes,
    route_gateway,
)
from berth.cni.plugins.masq import setup_masq, sync_masq, teardown_masq
from berth.cni.skel import CmdArgs, Deferrer, Plugin
from berth.cni.spec import Interface, IPAddress, Result, parse_dns

if TYPE_CHECKING:
    from berth.host.netlink import Netlink


class Bridge(Plugin):
    name = "berth-bridge"

    def __init__(self, background: Deferrer | None = None) -> None:
        self.background = background

    def add(self, args: CmdArgs, conf: NetConf) -> Result:
        bc = parse_bridge_conf(conf)
        if self.background is not None:  # a DEL of this attachment may still be finishing
            self.background.wait(host_veth_name(args.container_id, args.ifname))
        dns = parse_dns(conf.raw.get("dns"), "dns")
        rt_dns = conf.runtime_config.get("dns")
        if rt_dns:
            dns = parse_dns(rt_dns, "runtimeConfig.dns")
        from berth.host import netns
        from berth.host.errors import NetnsNotFound

        try:
            pod_fd = netns.open_netns(args.netns)
        except NetnsNotFound as exc:
            raise InvalidEnvironment(f"CNI_NETNS: {exc}") from exc
        try:
            with ExitStack() as undo:
                result = ipam.delegate("ADD", args, conf) or Result(conf.cni_version)
                undo.callback(ipam.delegate, "DEL", args, conf)
                result = self._setup(args, bc, result, pod_fd, undo)
                if bc.ip_masq and result.ips:
                    undo.callback(teardown_masq, conf.name, [ip.address.ip for ip in result.ips])
                    setup_masq(conf.name, result.ips)
                undo.pop_all()
        finally:
            os.close(pod_fd)
        if not dns.is_empty():
            result = replace(result, dns=dns)
        return replace(result, cni_version=conf.cni_version)

    def _setup(self, args: CmdArgs, bc: BridgeConf, result: Result, pod_fd: int,
               undo: ExitStack) -> Result:
        from berth.host.netlink import Netlink, set_forwarding

        ips = plan_gateways(bc, result.ips)
        routes = plan_routes(bc, ips, result.routes)
        veth = host_veth_name(args.container_id, args.ifname)
        with Netlink.open() as host, Netlink.open(args.netns) as pod:
            if pod.get_link(args.ifname) is not None:
                raise InvalidEnvironment(
                    f"CNI_IFNAME: interface {args.ifname} already exists in {args.netns}")
            br = host.ensure_bridge(bc.bridge, bc.mtu)
            if bc.promisc and not br.promisc:
                host.set_promisc(br.index, True)
            hv = host.add_veth(veth, args.ifname, pod_fd, bc.mtu, master=br.index,
                               peer_mac=bc.mac)
            undo.callback(host.delete_link, veth)
            if bc.hairpin:
                host.set_hairpin(hv.index, True)
            host.set_up(hv.index)
            if bc.is_gateway:
                for addr in bridge_addresses(ips):
                    host.ensure_addr(br.index, addr)
                    set_forwarding(addr.version)
            cv = pod.require_link(args.ifname)
            pod.set_up(cv.index)
            for ip in ips:
                pod.ensure_addr(cv.index, ip.address)
            for route in routes:
                pod.replace_route(route.dst, route_gateway(route, ips), cv.index, route.mtu)
            br = host.require_link(bc.bridge)
            interfaces = (Interface(br.name, br.mac), Interface(hv.name, hv.mac),
                          Interface(cv.name, cv.mac, args.netns, mtu=cv.mtu))
        return replace(attach_result(result, ips, routes), interfaces=interfaces)

    def delete(self, args: CmdArgs, conf: NetConf) -> None:
        bc = parse_bridge_conf(conf)
        addrs = [ip.address.ip for ip in conf.prev_result.ips] if conf.prev_result else []
        if bc.ip_masq and not addrs:
            addrs = ipam.held_addresses(args, conf)
        ipam.delegate("DEL", args, conf)
        if bc.ip_masq and not addrs:
            addrs = pod_addresses(args)
        if bc.ip_masq:
            teardown_masq(conf.name, [a for a in dict.fromkeys(addrs) if not a.is_link_local])
        if self.background is None:
            delete_veth(args, None)
            return
        from berth.host import netns
        from berth.host.errors import NetnsNotFound

        try:  # held open, so the namespace outlives the runtime's removal until we are done
            pod_fd: int | None = netns.open_netns(args.netns) if args.netns else None
        except NetnsNotFound:
            pod_fd = None
        self.background.defer(host_veth_name(args.container_id, args.ifname),
                              lambda: delete_veth(args, pod_fd))

    def check(self, args: CmdArgs, conf: NetConf) -> None:
        bc = parse_bridge_conf(conf)
        prev = conf.prev_result
        if prev is None:
            raise InvalidConfig("prevResult: required for CHECK")
        ipam.delegate("CHECK", args, conf)
        from berth.host.errors import NetnsNotFound
        from berth.host.netlink import Netlink

        try:
            with Netlink.open() as host, Netlink.open(args.netns) as pod:
                check_attachment(args, bc, prev, host, pod)
        except NetnsNotFound as exc:
            raise InvalidEnvironment(f"CNI_NETNS: {exc}") from exc

    def status(self, args: CmdArgs, conf: NetConf) -> None:
        ipam.delegate("STATUS", args, conf)

    def gc(self, args: CmdArgs, conf: NetConf) -> None:
        """Release IPs (IPAM GC) and delete host veths on the bridge not in the valid set."""
        bc = parse_bridge_conf(conf)
        ipam.delegate("GC", args, conf)
        from berth.host.netlink import Netlink

        keep = {host_veth_name(cid, ifname) for cid, ifname in valid_attachments(conf)}
        with Netlink.open() as host:
            br = host.get_link(bc.bridge)
            stale = [] if br is None else [
                link.name for link in host.links()
                if link.master == br.index and link.kind == "veth"
                and link.name.startswith(VETH_PREFIX) and link.name not in keep]
            for name in stale:
                host.delete_link(name)
        if bc.ip_masq:
            sync_masq(conf.name, ipam.held_addresses(args, conf, everyone=True))


def pod_addresses(args: CmdArgs) -> list[IPAddress]:
    """The addresses on the pod interface (for ipMasq when neither prevResult nor IPAM has them)."""
    from berth.host.errors import NetnsNotFound
    from berth.host.netlink import Netlink

    if not args.netns:
        return []
    try:
        with Netlink.open(args.netns) as pod:
            link = pod.get_link(args.ifname)
            return [] if link is None else [a.ip for a in pod.addrs(link.index)]
    except NetnsNotFound:
        return []


def delete_veth(args: CmdArgs, pod_fd: int | None) -> None:
    """Delete the pod end in its namespace, or the host end by name when that is gone.

    ``pod_fd`` (closed here) is an open handle on the pod namespace, used instead of
    CNI_NETNS when the caller already opened it; None means "open CNI_NETNS now".
    """
    from berth.host.errors import NetnsNotFound
    from berth.host.netlink import Netlink

    where = f"/proc/self/fd/{pod_fd}" if pod_fd is not None else args.netns
    deleted = False
    try:
        if where:
            with Netlink.open(where) as pod:
                deleted = pod.delete_link(args.ifname)
    except NetnsNotFound:
        pass
    finally:
        if pod_fd is not None:
            os.close(pod_fd)
    if not deleted:
        with Netlink.open() as host:
            host.delete_link(host_veth_name(args.container_id, args.ifname))


def check_attachment(args: CmdArgs, bc: BridgeConf, prev: Result, host: Netlink,
                     pod: Netlink) -> None:
    """Compare the live links, addresses and routes with ``prev``; CheckFailed if they differ."""
    index = next((n for n, i in enumerate(prev.interfaces)
                  if i.name == args.ifname and i.sandbox == args.netns), None)
    if index is None:
        raise CheckFailed(f"prevResult.interfaces: no interface {args.ifname} in {args.netns}")
    want = prev.interfaces[index]
    link = pod.get_link(args.ifname)
    if link is None:
        raise CheckFailed(f"interface {args.ifname} is missing in {args.netns}")
    if want.mac and want.mac.lower() != link.mac.lower():
        raise CheckFailed(f"interface {args.ifname} has MAC {link.mac}, prevResult says {want.mac}")
    have = pod.addrs(link.index)
    for ip in prev.ips:
        if ip.interface == index and ip.address not in have:
            raise CheckFailed(f"address {ip.address} is missing on {args.ifname}")
    live = {(r.dst, r.gw) for r in pod.routes(link.index)}
    dsts = {r.dst for r in pod.routes(link.index)}
    for route in prev.routes:
        gw = route_gateway(route, prev.ips)
        if (route.dst, gw) not in live and not (gw is None and route.dst in dsts):
            raise CheckFailed(f"route {route.dst} via {gw} is missing in {args.netns}")
    br = host.get_link(bc.bridge)
    veth = host.get_link(host_veth_name(args.container_id, args.ifname))
    if br is None:
        raise CheckFailed(f"bridge {bc.bridge} is missing")
    if veth is None or veth.master != br.index:
        raise CheckFailed(f"host end of {args.ifname} is not attached to bridge {bc.bridge}")


def main() -> None:
    fastpath.bridge()
