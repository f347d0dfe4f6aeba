"""portmap's pure side: port mappings from runtimeConfig, and the nft scripts that apply them.

Table ``inet berth-hostport`` holds three base chains with fixed rules
(prerouting/output jump to ``hostports`` for local destinations; postrouting
masquerades connections carrying the 0x2000 conntrack mark) and the
``hostports`` chain with the per-attachment rules.  Every rule of an
attachment carries the comment ``<containerID>/<ifname>``, so DEL, CHECK and GC
find them again by listing the chain (``rules_of``); nothing else is stored.
With ``snat`` (the default) connections from 127.0.0.0/8 or from the pod
itself (hairpin) are marked for masquerading.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from berth.cni.errors import InvalidConfig
from berth.cni.spec import IPAddress, IPInterface

FAMILY = "inet"
TABLE = "berth-hostport"
CHAIN = "hostports"
MASQ_MARK = 0x2000
PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class PortMapping:
    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: IPAddress | None = None


def parse_port_mappings(runtime_config: dict[str, Any]) -> list[PortMapping]:
    raw = runtime_config.get("portMappings") or []
    if not isinstance(raw, list):
        raise InvalidConfig("runtimeConfig.portMappings: expected a list")
    out = []
    for i, m in enumerate(raw):
        where = f"runtimeConfig.portMappings[{i}]"
        if not isinstance(m, dict):
            raise InvalidConfig(f"{where}: expected an object")
        ports = []
        for key in ("hostPort", "containerPort"):
            value = m.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
                raise InvalidConfig(f"{where}.{key}: expected a port number 1-65535, "
                                    f"got {value!r}")
            ports.append(value)
        proto = str(m.get("protocol") or "tcp").lower()
        if proto not in PROTOCOLS:
            raise InvalidConfig(f"{where}.protocol: {proto!r} is not one of {list(PROTOCOLS)}")
        host_ip = None
        if m.get("hostIP"):
            try:
                host_ip = ipaddress.ip_address(m["hostIP"])
            except ValueError as exc:
                raise InvalidConfig(f"{where}.hostIP: invalid IP address {m['hostIP']!r}") from exc
            if host_ip.is_unspecified:
                host_ip = None
        out.append(PortMapping(ports[0], ports[1], proto, host_ip))
    return out


def tag(container_id: str, ifname: str) -> str:
    return f"{container_id}/{ifname}"


def _base() -> list[str]:
    t = f"{FAMILY} {TABLE}"
    return [
        f"add table {t}",
        f"add chain {t} {CHAIN}",
        f"add chain {t} prerouting {{ type nat hook prerouting priority -100; policy accept; }}",
        f"add chain {t} output {{ type nat hook output priority -100; policy accept; }}",
        f"add chain {t} postrouting {{ type nat hook postrouting priority 100; policy accept; }}",
        f"flush chain {t} prerouting",
        f"flush chain {t} output",
        f"flush chain {t} postrouting",
        f"add rule {t} prerouting fib daddr type local jump {CHAIN}",
        f"add rule {t} output fib daddr type local jump {CHAIN}",
        f"add rule {t} postrouting ct mark and {MASQ_MARK:#x} == {MASQ_MARK:#x} masquerade",
    ]


def plan_rules(mappings: list[PortMapping], pod: list[IPInterface], label: str,
               snat: bool) -> list[str]:
    """The ``hostports`` rules of one attachment (first pod address of each family)."""
    t = f"{FAMILY} {TABLE} {CHAIN}"
    firsts = {a.version: a.ip for a in reversed(pod)}
    rules = []
    for m in mappings:
        for version, ip in sorted(firsts.items()):
            if m.host_ip is not None and m.host_ip.version != version:
                continue
            fam, nfproto = ("ip", "ipv4") if version == 4 else ("ip6", "ipv6")
            match = (f"{fam} daddr {m.host_ip}" if m.host_ip is not None
                     else f"meta nfproto {nfproto}")
            match += f" meta l4proto {m.protocol} th dport {m.host_port}"
            if snat:
                local = "127.0.0.0/8" if version == 4 else "::1"
                rules.append(f"add rule {t} {match} {fam} saddr {{ {local}, {ip} }} "
                             f"ct mark set ct mark or {MASQ_MARK:#x} comment \"{label}\"")
            target = f"{ip}:{m.container_port}" if version == 4 else f"[{ip}]:{m.container_port}"
            rules.append(f"add rule {t} {match} dnat {fam} to {target} comment \"{label}\"")
    return rules


def plan_add(mappings: list[PortMapping], pod: list[IPInterface], label: str,
             snat: bool, stale_handles: list[int]) -> str:
    """Base chains, the attachment's old rules removed (a repeated ADD) and its new ones."""
    lines = _base() + plan_delete_lines(stale_handles)
    lines += plan_rules(mappings, pod, label, snat)
    return "\n".join(lines) + "\n"


def plan_delete_lines(handles: list[int]) -> list[str]:
    return [f"delete rule {FAMILY} {TABLE} {CHAIN} handle {h}" for h in handles]


def rules_of(chain: list[dict[str, Any]] | None) -> dict[str, list[int]]:
    """Rule handles of the ``hostports`` chain by comment (attachment tag)."""
    out: dict[str, list[int]] = {}
    for item in chain or []:
        rule = item.get("rule")
        if rule and rule.get("chain") == CHAIN and "comment" in rule:
            out.setdefault(str(rule["comment"]), []).append(int(rule["handle"]))
    return out
