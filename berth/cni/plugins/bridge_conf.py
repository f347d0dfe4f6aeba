"""The bridge plugin's configuration and its pure planning (names, gateways, routes).

``parse_bridge_conf`` reads the plugin's fields with messages naming the
field; ``host_veth_name`` derives the host end's name from the attachment
(``bth`` + 12 hex digits of a hash, 15 characters), so DEL finds the link even
when the pod's namespace is gone; ``plan_gateways`` and ``plan_routes`` compute
what goes on the bridge and into the pod from the IPAM result, the way the
reference plugin does (isGateway defaults a missing gateway to the subnet's
first address; isDefaultGateway adds a default route per family; a route
without ``gw`` goes via its family's gateway).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, replace

from berth.cni.conf import NetConf, get_bool, get_int, get_str
from berth.cni.errors import InvalidConfig
from berth.cni.skel import MAX_IFNAME
from berth.cni.spec import IPAddress, IPConfig, IPInterface, Result, Route

DEFAULT_BRIDGE = "cni0"
DEFAULT_MTU = 1500
VETH_PREFIX = "bth"
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


@dataclass(frozen=True)
class BridgeConf:
    bridge: str
    mtu: int
    is_gateway: bool
    is_default_gateway: bool
    ip_masq: bool
    hairpin: bool
    promisc: bool
    mac: str = ""


def parse_bridge_conf(conf: NetConf) -> BridgeConf:
    raw = conf.raw
    bridge = get_str(raw, "bridge", default=DEFAULT_BRIDGE)
    if len(bridge) > MAX_IFNAME or any(c in "/:" or c.isspace() for c in bridge):
        raise InvalidConfig(f"bridge: invalid interface name {bridge!r}",
                            f"at most {MAX_IFNAME} characters, no '/', ':' or spaces")
    is_default_gw = get_bool(raw, "isDefaultGateway")
    mac, where = conf.runtime_config.get("mac"), "runtimeConfig.mac"
    if not mac:
        mac, where = ((raw.get("args") or {}).get("cni") or {}).get("mac"), "args.cni.mac"
    if mac and (not isinstance(mac, str) or not MAC_RE.match(mac)):
        raise InvalidConfig(f"{where}: invalid MAC address {mac!r}")
    return BridgeConf(
        bridge=bridge,
        mtu=get_int(raw, "mtu", default=DEFAULT_MTU, minimum=68, maximum=65535),
        is_gateway=get_bool(raw, "isGateway") or is_default_gw,
        is_default_gateway=is_default_gw,
        ip_masq=get_bool(raw, "ipMasq"),
        hairpin=get_bool(raw, "hairpinMode"),
        promisc=get_bool(raw, "promiscMode"),
        mac=(mac or "").lower(),
    )


def host_veth_name(container_id: str, ifname: str) -> str:
    digest = hashlib.sha256(f"{container_id}/{ifname}".encode()).hexdigest()
    return VETH_PREFIX + digest[:12]


def plan_gateways(bc: BridgeConf, ips: tuple[IPConfig, ...]) -> tuple[IPConfig, ...]:
    """The IPAM addresses with gateways filled in when the bridge is the gateway."""
    if not bc.is_gateway:
        return ips
    out = []
    for ip in ips:
        if ip.gateway is None:
            ip = replace(ip, gateway=ip.address.network.network_address + 1)
        out.append(ip)
    return tuple(out)


def bridge_addresses(ips: tuple[IPConfig, ...]) -> list[IPInterface]:
    """Gateway addresses (with the pod subnet's prefix) to put on the bridge."""
    seen: list[IPInterface] = []
    for ip in ips:
        if ip.gateway is None:
            continue
        addr = ipaddress.ip_interface(f"{ip.gateway}/{ip.address.network.prefixlen}")
        if addr not in seen:
            seen.append(addr)
    return seen


def plan_routes(bc: BridgeConf, ips: tuple[IPConfig, ...], routes: tuple[Route, ...]
                ) -> tuple[Route, ...]:
    """IPAM routes plus a default route per family when isDefaultGateway."""
    out = list(routes)
    if bc.is_default_gateway:
        for version in (4, 6):
            gw = family_gateway(ips, version)
            dst = ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")
            if gw is not None and not any(r.dst == dst for r in out):
                out.append(Route(dst, gw))
    return tuple(out)


def family_gateway(ips: tuple[IPConfig, ...], version: int) -> IPAddress | None:
    return next((ip.gateway for ip in ips if ip.address.version == version and ip.gateway),
                None)


def route_gateway(route: Route, ips: tuple[IPConfig, ...]) -> IPAddress | None:
    return route.gw if route.gw is not None else family_gateway(ips, route.dst.version)


def attach_result(result: Result, ips: tuple[IPConfig, ...], routes: tuple[Route, ...]
                  ) -> Result:
    return replace(result, ips=tuple(replace(ip, interface=2) for ip in ips), routes=routes)
