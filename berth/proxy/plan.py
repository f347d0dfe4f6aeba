"""The proxy's pure entry points: objects in, nft scripts and conntrack deletions out.

``plan_ruleset`` is the whole table for a set of Services and EndpointSlices
(what a fresh proxy applies); ``plan_changes`` is the incremental script
between two ``ProxyState`` values (what every later sync applies);
``plan_conntrack_flushes`` lists the UDP conntrack entries that would keep
sending datagrams to a backend that is gone (UDP has no connection end, so
conntrack would otherwise keep the old DNAT for as long as traffic flows).
None of them does I/O; ``berth.proxy.proxier`` applies their output.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from berth.proxy.model import DNSRedirect, Obj, ProxyState, build_state
from berth.proxy.render import render_changes, render_full


@dataclass(frozen=True, order=True)
class ConntrackFlush:
    """Delete UDP entries sent to ``orig_dst[:orig_port]`` (and DNATed to ``dst_nat`` if set)."""

    orig_dst: str | None = None
    orig_port: int | None = None
    dst_nat: str | None = None


def plan_ruleset(services: Iterable[Obj], endpointslices: Iterable[Obj], node: str,
                 dns: DNSRedirect | None = None) -> str:
    """The complete nft script (one transaction) for these objects on node ``node``."""
    return render_full(build_state(services, endpointslices, node, dns))


def plan_changes(old_state: ProxyState, new_state: ProxyState) -> str:
    """The nft script that moves the table from ``old_state`` to ``new_state`` ("" if equal)."""
    return render_changes(old_state, new_state)


def plan_conntrack_flushes(old: ProxyState, new: ProxyState) -> list[ConntrackFlush]:
    """UDP entries to delete after moving from ``old`` to ``new``.

    For a UDP endpoint that went away: entries to the ClusterIP (and NodePort)
    DNATed to it.  For a UDP port that had no endpoint and now has one: every
    entry to the ClusterIP, so no client keeps a stale (rejected) flow.
    """
    out: set[ConntrackFlush] = set()
    for key, before in old.ports.items():
        if before.protocol != "udp":
            continue
        after = new.ports.get(key)
        still = {e.ip for e in after.endpoints} if after else set()
        for ip in {e.ip for e in before.endpoints} - still:
            out.add(ConntrackFlush(before.cluster_ip, before.port, ip))
            if before.node_port:
                out.add(ConntrackFlush(None, before.node_port, ip))
    for key, now in new.ports.items():
        was = old.ports.get(key)
        if now.protocol == "udp" and now.endpoints and (was is None or not was.endpoints):
            out.add(ConntrackFlush(now.cluster_ip, now.port, None))
    return sorted(out, key=lambda f: (f.orig_dst or "", f.orig_port or 0, f.dst_nat or ""))
