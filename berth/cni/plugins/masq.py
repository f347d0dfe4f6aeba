"""ipMasq for the bridge plugin: masquerade pod traffic leaving the pod subnet, with nftables.

berth keeps these rules in its own table, ``inet berth-cni``, apart from the
proxy's ``inet berth`` (which is replaced as a whole).  Per network there is
one postrouting NAT chain and one set of pod addresses per family, so ADD and
DEL only add or delete a set element (the chain is rebuilt in the same
transaction, so a repeated ADD is harmless).  The ``plan_*`` functions render
nft scripts and are pure; ``setup_masq``/``teardown_masq``/``sync_masq`` apply
them through ``berth.host.nft``.  When the last pod of a network leaves, its
chain and sets go, and the table goes with the last network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from berth.cni.spec import IPAddress, IPConfig, IPInterface

FAMILY = "inet"
TABLE = "berth-cni"


def names(network: str) -> tuple[str, str, str]:
    """(chain, IPv4 set, IPv6 set) for a network; hashed, so any network name is safe."""
    tag = hashlib.sha256(network.encode()).hexdigest()[:10]
    return f"masq_{tag}", f"pods4_{tag}", f"pods6_{tag}"


def _declare(network: str) -> list[str]:
    chain, set4, set6 = names(network)
    return [
        f"add table {FAMILY} {TABLE}",
        f"add set {FAMILY} {TABLE} {set4} {{ type ipv4_addr; }}",
        f"add set {FAMILY} {TABLE} {set6} {{ type ipv6_addr; }}",
        f"add chain {FAMILY} {TABLE} {chain} {{ type nat hook postrouting priority srcnat; "
        f"policy accept; }}",
    ]


def plan_setup(network: str, addrs: Iterable[IPInterface]) -> str:
    chain, set4, set6 = names(network)
    addrs = list(addrs)
    lines = [*_declare(network), f"flush chain {FAMILY} {TABLE} {chain}"]
    for subnet in dict.fromkeys(a.network for a in addrs):
        if subnet.version == 4:
            lines.append(f"add rule {FAMILY} {TABLE} {chain} ip saddr @{set4} "
                         f"ip daddr != {subnet} ip daddr != 224.0.0.0/4 masquerade")
        else:
            lines.append(f"add rule {FAMILY} {TABLE} {chain} ip6 saddr @{set6} "
                         f"ip6 daddr != {subnet} ip6 daddr != ff00::/8 masquerade")
    for a in addrs:
        lines.append(f"add element {FAMILY} {TABLE} {set4 if a.version == 4 else set6} "
                     f"{{ {a.ip} }}")
    return "\n".join(lines) + "\n"


def plan_teardown(network: str, addrs: Iterable[IPAddress]) -> str:
    """Remove pod addresses; adding each first makes the delete succeed when it is absent."""
    _, set4, set6 = names(network)
    lines = _declare(network)
    for a in addrs:
        target = f"{FAMILY} {TABLE} {set4 if a.version == 4 else set6} {{ {a} }}"
        lines += [f"add element {target}", f"delete element {target}"]
    return "\n".join(lines) + "\n"


def plan_sync(network: str, addrs: Iterable[IPAddress]) -> str:
    """Make the sets hold exactly ``addrs`` (GC)."""
    _, set4, set6 = names(network)
    lines = [*_declare(network), f"flush set {FAMILY} {TABLE} {set4}",
             f"flush set {FAMILY} {TABLE} {set6}"]
    for a in addrs:
        lines.append(f"add element {FAMILY} {TABLE} {set4 if a.version == 4 else set6} "
                     f"{{ {a} }}")
    return "\n".join(lines) + "\n"


def plan_cleanup(network: str, table: list[dict[str, Any]]) -> str:
    """Delete the network's chain and sets when both sets are empty (and the table if bare)."""
    chain, set4, set6 = names(network)
    objects = [(kind, item[kind]) for item in table for kind in ("set", "chain") if kind in item]
    sets = {obj["name"]: obj for kind, obj in objects if kind == "set"}
    if any(sets.get(name, {}).get("elem") for name in (set4, set6)):
        return ""
    if all(obj["name"] in (chain, set4, set6) for _, obj in objects):
        return f"delete table {FAMILY} {TABLE}\n"
    lines = [f"delete chain {FAMILY} {TABLE} {chain}"]
    lines += [f"delete set {FAMILY} {TABLE} {name}" for name in (set4, set6) if name in sets]
    return "\n".join(lines) + "\n"


def setup_masq(network: str, ips: tuple[IPConfig, ...]) -> None:
    from berth.host import nft

    nft.apply(plan_setup(network, [ip.address for ip in ips]))


def teardown_masq(network: str, addrs: Iterable[IPAddress]) -> None:
    from berth.host import nft

    if nft.list_table(FAMILY, TABLE) is None:
        return
    nft.apply(plan_teardown(network, addrs))
    _cleanup(network)


def sync_masq(network: str, addrs: Iterable[IPAddress]) -> None:
    from berth.host import nft

    if nft.list_table(FAMILY, TABLE) is None:
        return
    nft.apply(plan_sync(network, addrs))
    _cleanup(network)


def _cleanup(network: str) -> None:
    from berth.host import nft

    table = nft.list_table(FAMILY, TABLE)
    if table is not None:
        script = plan_cleanup(network, table)
        if script:
            nft.apply(script)
