"""CNI specification types: versions, results and their conversion between versions.

Everything here is pure data.  A ``Result`` is the version-independent form of
an ADD result; ``parse_result`` reads any supported version's JSON into it and
``Result.to_dict(version)`` writes it in the format of the requested version:

- 0.3.0, 0.3.1, 0.4.0: ``ips[].version`` ("4"/"6") is present;
- 1.0.0: ``version`` is gone;
- 1.1.0: adds ``interfaces[].mtu/socketPath/pciID`` and
  ``routes[].mtu/advmss/priority/table/scope``, omitted for older versions.

Versions before 0.3.0 (``ip4``/``ip6`` results) are not supported.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from berth.cni.errors import DecodeFailure, IncompatibleVersion

SUPPORTED_VERSIONS: tuple[str, ...] = ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
CURRENT_VERSION = "1.1.0"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def version_tuple(version: str) -> tuple[int, int, int]:
    """``"1.0.0"`` -> ``(1, 0, 0)``; raises ``IncompatibleVersion`` on garbage."""
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise IncompatibleVersion("invalid cniVersion", f"{version!r} is not MAJOR.MINOR.PATCH")
    return int(parts[0]), int(parts[1]), int(parts[2])


def at_least(version: str, minimum: str) -> bool:
    return version_tuple(version) >= version_tuple(minimum)


def ensure_supported(version: str, supported: tuple[str, ...] = SUPPORTED_VERSIONS) -> str:
    """Return ``version`` if supported, else raise the spec's code 1."""
    if version not in supported:
        raise IncompatibleVersion(
            "incompatible CNI versions",
            f'config is "{version}", plugin supports {json.dumps(list(supported))}',
        )
    return version


@dataclass(frozen=True)
class Interface:
    name: str
    mac: str = ""
    sandbox: str = ""
    mtu: int | None = None
    socket_path: str = ""
    pci_id: str = ""


@dataclass(frozen=True)
class IPConfig:
    address: IPInterface
    gateway: IPAddress | None = None
    interface: int | None = None


@dataclass(frozen=True)
class Route:
    dst: IPNetwork
    gw: IPAddress | None = None
    mtu: int | None = None
    advmss: int | None = None
    priority: int | None = None
    table: int | None = None
    scope: int | None = None


@dataclass(frozen=True)
class DNS:
    nameservers: tuple[str, ...] = ()
    domain: str = ""
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.nameservers or self.domain or self.search or self.options)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.nameservers:
            out["nameservers"] = list(self.nameservers)
        if self.domain:
            out["domain"] = self.domain
        if self.search:
            out["search"] = list(self.search)
        if self.options:
            out["options"] = list(self.options)
        return out


@dataclass(frozen=True)
class Result:
    cni_version: str = CURRENT_VERSION
    interfaces: tuple[Interface, ...] = ()
    ips: tuple[IPConfig, ...] = ()
    routes: tuple[Route, ...] = ()
    dns: DNS = field(default_factory=DNS)

    def to_dict(self, version: str | None = None) -> dict[str, Any]:
        """The result as JSON in ``version``'s format (default: its own version)."""
        version = ensure_supported(version or self.cni_version)
        v11 = at_least(version, "1.1.0")
        legacy = not at_least(version, "1.0.0")
        out: dict[str, Any] = {"cniVersion": version}
        if self.interfaces:
            out["interfaces"] = [_interface_dict(i, v11) for i in self.interfaces]
        if self.ips:
            out["ips"] = [_ip_dict(ip, legacy) for ip in self.ips]
        if self.routes:
            out["routes"] = [_route_dict(r, v11) for r in self.routes]
        if not self.dns.is_empty():
            out["dns"] = self.dns.to_dict()
        return out


def _interface_dict(i: Interface, v11: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": i.name}
    if i.mac:
        out["mac"] = i.mac
    if v11 and i.mtu:
        out["mtu"] = i.mtu
    if i.sandbox:
        out["sandbox"] = i.sandbox
    if v11 and i.socket_path:
        out["socketPath"] = i.socket_path
    if v11 and i.pci_id:
        out["pciID"] = i.pci_id
    return out


def _ip_dict(ip: IPConfig, legacy: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if legacy:
        out["version"] = str(ip.address.version)
    if ip.interface is not None:
        out["interface"] = ip.interface
    out["address"] = str(ip.address)
    if ip.gateway is not None:
        out["gateway"] = str(ip.gateway)
    return out


def _route_dict(r: Route, v11: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"dst": str(r.dst)}
    if r.gw is not None:
        out["gw"] = str(r.gw)
    if v11:
        for key, value in (
            ("mtu", r.mtu),
            ("advmss", r.advmss),
            ("priority", r.priority),
            ("table", r.table),
            ("scope", r.scope),
        ):
            if value is not None:
                out[key] = value
    return out


# -- parsing -------------------------------------------------------------------------------


def parse_result(data: Any, where: str = "result") -> Result:
    """Read a result of any supported version; raise ``DecodeFailure`` naming the field."""
    if not isinstance(data, dict):
        raise DecodeFailure(f"{where}: expected a JSON object")
    version = data.get("cniVersion")
    if not isinstance(version, str):
        raise DecodeFailure(f"{where}.cniVersion: required string")
    if version_tuple(version) < (0, 3, 0):
        raise IncompatibleVersion(
            "unsupported result version", f"{where}.cniVersion {version!r} is before 0.3.0"
        )
    interfaces = tuple(
        _parse_interface(i, f"{where}.interfaces[{n}]")
        for n, i in enumerate(_list(data, "interfaces", where))
    )
    ips = tuple(_parse_ip(i, f"{where}.ips[{n}]") for n, i in enumerate(_list(data, "ips", where)))
    routes = tuple(
        _parse_route(r, f"{where}.routes[{n}]") for n, r in enumerate(_list(data, "routes", where))
    )
    dns = parse_dns(data.get("dns"), f"{where}.dns")
    return Result(version, interfaces, ips, routes, dns)


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise DecodeFailure(f"{where}.{key}: expected a list")
    return value


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeFailure(f"{where}: expected a JSON object")
    return value


def _opt_int(data: dict[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise DecodeFailure(f"{where}.{key}: expected an integer")
    return value


def _str(data: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise DecodeFailure(f"{where}.{key}: {'required ' if required else ''}string expected")
    return value


def parse_interface_addr(text: Any, where: str) -> IPInterface:
    """``"10.1.0.5/24"`` -> an interface address (host bits kept)."""
    if not isinstance(text, str) or "/" not in text:
        raise DecodeFailure(f"{where}: invalid CIDR address {text!r}")
    try:
        return ipaddress.ip_interface(text)
    except ValueError as exc:
        raise DecodeFailure(f"{where}: invalid CIDR address {text!r}") from exc


def parse_ip(text: Any, where: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise DecodeFailure(f"{where}: invalid IP address {text!r}") from exc


def parse_network(text: Any, where: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(text, strict=False)
    except (ValueError, TypeError) as exc:
        raise DecodeFailure(f"{where}: invalid CIDR {text!r}") from exc


def _parse_interface(value: Any, where: str) -> Interface:
    d = _obj(value, where)
    return Interface(
        name=_str(d, "name", where, required=True),
        mac=_str(d, "mac", where),
        sandbox=_str(d, "sandbox", where),
        mtu=_opt_int(d, "mtu", where),
        socket_path=_str(d, "socketPath", where),
        pci_id=_str(d, "pciID", where),
    )


def _parse_ip(value: Any, where: str) -> IPConfig:
    d = _obj(value, where)
    address = parse_interface_addr(d.get("address"), f"{where}.address")
    gateway = d.get("gateway")
    gw = parse_ip(gateway, f"{where}.gateway") if gateway else None
    return IPConfig(address, gw, _opt_int(d, "interface", where))


def _parse_route(value: Any, where: str) -> Route:
    d = _obj(value, where)
    gw = d.get("gw")
    return Route(
        dst=parse_network(d.get("dst"), f"{where}.dst"),
        gw=parse_ip(gw, f"{where}.gw") if gw else None,
        mtu=_opt_int(d, "mtu", where),
        advmss=_opt_int(d, "advmss", where),
        priority=_opt_int(d, "priority", where),
        table=_opt_int(d, "table", where),
        scope=_opt_int(d, "scope", where),
    )


def parse_dns(value: Any, where: str) -> DNS:
    if value is None:
        return DNS()
    d = _obj(value, where)

    def strings(key: str) -> tuple[str, ...]:
        items = d.get(key) or []
        if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            raise DecodeFailure(f"{where}.{key}: expected a list of strings")
        return tuple(items)

    return DNS(strings("nameservers"), _str(d, "domain", where), strings("search"),
               strings("options"))
