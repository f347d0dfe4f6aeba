"""``berth-host-local``: the host-local IPAM plugin, spec-exact, plus STATUS and GC.

It reads the ``ipam`` section of the network configuration (ranges, routes,
dataDir, resolvConf), collects requested addresses from the ``ips``
capability (``runtimeConfig.ips``), ``args.cni.ips`` and ``CNI_ARGS IP=``, and
lets the pure allocator (``allocator``) reserve one address per range set in the
disk store (``ipam_store``).  DEL releases by container ID and interface name;
GC releases every address whose attachment is not in
``cni.dev/valid-attachments``; STATUS fails with code 50 when some range set
has no free address.  This module never imports pyroute2, so it stays fast
when exec'd; ``IPAMPlugin`` is also called in-process by berth's bridge.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from berth.cni import fastpath
from berth.cni.conf import NetConf, get_str, valid_attachments
from berth.cni.errors import DecodeFailure, InvalidConfig, InvalidEnvironment, PluginNotAvailable
from berth.cni.plugins import allocator
from berth.cni.plugins.ipam_store import DEFAULT_DATA_DIR, DiskStore
from berth.cni.skel import CmdArgs, Plugin
from berth.cni.spec import DNS, IPAddress, IPConfig, Result, Route, parse_ip, parse_network

KNOWN_ARGS = {"IP", "IgnoreUnknown"}


def ipam_section(conf: NetConf) -> dict[str, Any]:
    ipam = conf.ipam
    if ipam is None:
        raise InvalidConfig("ipam: required section is missing")
    return ipam


def open_store(conf: NetConf) -> DiskStore:
    ipam = ipam_section(conf)
    return DiskStore(get_str(ipam, "dataDir", where="ipam.", default=DEFAULT_DATA_DIR), conf.name)


def requested_ips(args: CmdArgs, conf: NetConf) -> list[tuple[IPAddress, str]]:
    """Requested addresses with the field each came from."""
    out: list[tuple[IPAddress, str]] = []
    ignore_unknown = (args.arg("IgnoreUnknown") or "").lower() in ("1", "true")
    for key, _ in args.args:
        if key not in KNOWN_ARGS and not ignore_unknown:
            raise InvalidEnvironment(f"CNI_ARGS: unknown argument {key!r}",
                                     "set IgnoreUnknown=1 to ignore it")
    ip_arg = args.arg("IP")
    if ip_arg:
        for text in ip_arg.split(","):
            out.append((_ip(text.strip(), "CNI_ARGS IP"), "CNI_ARGS IP"))
    cni_args = (conf.raw.get("args") or {}).get("cni") or {}
    for i, text in enumerate(_list(cni_args.get("ips"), "args.cni.ips")):
        out.append((_ip(text, f"args.cni.ips[{i}]"), f"args.cni.ips[{i}]"))
    for i, text in enumerate(_list(conf.runtime_config.get("ips"), "runtimeConfig.ips")):
        out.append((_ip(text, f"runtimeConfig.ips[{i}]"), f"runtimeConfig.ips[{i}]"))
    return out


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidConfig(f"{where}: expected a list of IP addresses")
    return value


def _ip(text: Any, where: str) -> IPAddress:
    try:
        if isinstance(text, str) and "/" in text:
            return ipaddress.ip_interface(text).ip
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise InvalidConfig(f"{where}: invalid IP address {text!r}") from exc


def parse_routes(ipam: dict[str, Any]) -> tuple[Route, ...]:
    routes = ipam.get("routes") or []
    if not isinstance(routes, list):
        raise InvalidConfig("ipam.routes: expected a list")
    out = []
    for i, r in enumerate(routes):
        where = f"ipam.routes[{i}]"
        if not isinstance(r, dict):
            raise InvalidConfig(f"{where}: expected an object")
        try:
            dst = parse_network(r.get("dst"), f"{where}.dst")
            gw = parse_ip(r["gw"], f"{where}.gw") if r.get("gw") else None
        except DecodeFailure as exc:
            raise InvalidConfig(exc.msg) from exc
        out.append(Route(dst, gw))
    return tuple(out)


def parse_resolv_conf(path: str) -> DNS:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise InvalidConfig(f"ipam.resolvConf: cannot read {path}", exc.strerror or "") from exc
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    domain = ""
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        if words[0] == "nameserver":
            servers.append(words[1])
        elif words[0] == "domain":
            domain = words[1]
        elif words[0] == "search":
            search = words[1:]
        elif words[0] == "options":
            options.extend(words[1:])
    return DNS(tuple(servers), domain, tuple(search), tuple(options))


class HostLocal(Plugin):
    name = "berth-host-local"

    def add(self, args: CmdArgs, conf: NetConf) -> Result:
        ipam = ipam_section(conf)
        sets = allocator.parse_range_sets(ipam)
        routes = parse_routes(ipam)
        requested = requested_ips(args, conf)
        for ip, where in requested:
            if not any(rs.range_for(ip) for rs in sets):
                raise allocator.AllocationError(
                    f"{where}: requested IP address {ip} is outside the configured ranges",
                    ", ".join(str(rs) for rs in sets))
        resolv = get_str(ipam, "resolvConf", where="ipam.")
        dns = parse_resolv_conf(resolv) if resolv else DNS()
        store = open_store(conf)
        got = allocator.allocate(store, sets, args.container_id, args.ifname,
                                 [ip for ip, _ in requested])
        ips = tuple(IPConfig(iface, r.gateway) for iface, r in got)
        return Result(conf.cni_version, (), ips, routes, dns)

    def delete(self, args: CmdArgs, conf: NetConf) -> None:
        allocator.release(open_store(conf), args.container_id, args.ifname)

    def check(self, args: CmdArgs, conf: NetConf) -> None:
        sets = allocator.parse_range_sets(ipam_section(conf))
        held = set(open_store(conf).get_by_id(args.container_id, args.ifname))
        if not held:
            raise allocator.AllocationError(
                f"host-local: failed to find an address held by container {args.container_id}")
        prev = conf.prev_result
        for ip in prev.ips if prev else ():
            if any(rs.range_for(ip.address.ip) for rs in sets) and ip.address.ip not in held:
                raise allocator.AllocationError(
                    f"prevResult.ips: {ip.address.ip} is not reserved for {args.container_id}")

    def status(self, args: CmdArgs, conf: NetConf) -> None:
        sets = allocator.parse_range_sets(ipam_section(conf))
        store = open_store(conf)
        for index, rs in enumerate(sets):
            if not allocator.has_free_address(store, rs, index):
                raise PluginNotAvailable(f"no IP addresses available in range set {rs}")

    def gc(self, args: CmdArgs, conf: NetConf) -> None:
        allocator.collect_garbage(open_store(conf), valid_attachments(conf))


def main() -> None:
    fastpath.host_local()
