"""``berth-portmap``: hostPort -> pod port DNAT in nftables, as a chained plugin.

ADD reads ``runtimeConfig.portMappings`` (the ``portMappings`` capability) and
the pod addresses from ``prevResult``, and writes the attachment's rules into
table ``inet berth-hostport`` (rendered by ``portmap_plan``), replacing any
it had; the result is prevResult, unchanged.  With ``snat`` (default true)
connections from localhost and hairpin connections are masqueraded, and the
host-side interfaces get ``route_localnet`` so 127.0.0.1:hostPort works.
DEL removes the rules carrying the attachment's comment and the table with
the last of them; CHECK counts them; GC removes those of attachments not in
the valid set.  A lock file serialises the list-then-change steps.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from berth.cni import fastpath
from berth.cni.conf import NetConf, get_bool, valid_attachments
from berth.cni.errors import CheckFailed, InvalidConfig
from berth.cni.plugins.portmap_plan import (
    FAMILY,
    TABLE,
    parse_port_mappings,
    plan_add,
    plan_delete_lines,
    plan_rules,
    rules_of,
    tag,
)
from berth.cni.skel import CmdArgs, Plugin
from berth.cni.spec import IPInterface, Result

LOCK_PATH = "/run/berth-portmap.lock"


@contextmanager
def _locked() -> Iterator[None]:
    fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def pod_addresses(prev: Result) -> list[IPInterface]:
    """Addresses on a sandbox interface of prevResult (all of them if none says)."""
    sandboxed = {n for n, i in enumerate(prev.interfaces) if i.sandbox}
    chosen = [ip.address for ip in prev.ips if ip.interface in sandboxed]
    return chosen or [ip.address for ip in prev.ips]


def _remove(handles_by_tag: dict[str, list[int]], doomed: list[str]) -> None:
    from berth.host import nft

    handles = [h for t in doomed for h in handles_by_tag.get(t, [])]
    if not handles:
        return
    if all(t in doomed for t in handles_by_tag):
        nft.apply(f"delete table {FAMILY} {TABLE}\n")
    else:
        nft.apply("\n".join(plan_delete_lines(handles)) + "\n")


class Portmap(Plugin):
    name = "berth-portmap"

    def add(self, args: CmdArgs, conf: NetConf) -> Result:
        prev = conf.prev_result
        if prev is None:
            raise InvalidConfig("prevResult: portmap must follow a main plugin in a chain")
        mappings = parse_port_mappings(conf.runtime_config)
        snat = get_bool(conf.raw, "snat", default=True)
        if not mappings:
            return prev
        pod = pod_addresses(prev)
        if not pod:
            raise InvalidConfig("prevResult.ips: no pod address to map host ports to")
        from berth.host import nft

        label = tag(args.container_id, args.ifname)
        with _locked():
            existing = rules_of(nft.list_table(FAMILY, TABLE)).get(label, [])
            nft.apply(plan_add(mappings, pod, label, snat, existing))
        if snat:
            from berth.host.sysctl import set_sysctl

            for iface in prev.interfaces:
                if not iface.sandbox and os.path.exists(f"/proc/sys/net/ipv4/conf/{iface.name}"):
                    set_sysctl(f"net.ipv4.conf.{iface.name}.route_localnet", "1")
        return prev

    def delete(self, args: CmdArgs, conf: NetConf) -> None:
        parse_port_mappings(conf.runtime_config)
        from berth.host import nft

        with _locked():
            _remove(rules_of(nft.list_table(FAMILY, TABLE)), [tag(args.container_id,
                                                                  args.ifname)])

    def check(self, args: CmdArgs, conf: NetConf) -> None:
        prev = conf.prev_result
        if prev is None:
            raise InvalidConfig("prevResult: required for CHECK")
        mappings = parse_port_mappings(conf.runtime_config)
        label = tag(args.container_id, args.ifname)
        want = len(plan_rules(mappings, pod_addresses(prev), label,
                              get_bool(conf.raw, "snat", default=True)))
        from berth.host import nft

        have = len(rules_of(nft.list_table(FAMILY, TABLE)).get(label, []))
        if have != want:
            raise CheckFailed(f"portmap: {have} rules for {label}, expected {want}")

    def gc(self, args: CmdArgs, conf: NetConf) -> None:
        keep = {tag(c, i) for c, i in valid_attachments(conf)}
        from berth.host import nft

        with _locked():
            rules = rules_of(nft.list_table(FAMILY, TABLE))
            _remove(rules, [t for t in rules if t not in keep])


def main() -> None:
    fastpath.portmap()
