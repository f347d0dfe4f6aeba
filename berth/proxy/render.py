"""Render a ``ProxyState`` as nft commands: the whole table, or the difference between two.

The table ``inet berth`` has a fixed skeleton (``skeleton``) and per service
port objects (``port_objects``):

- ``service-ips`` (``ip daddr . meta l4proto . th dport`` -> verdict) sends a
  new connection to a ClusterIP to ``goto svc-<key>``; ``service-nodeports``
  (``meta l4proto . th dport``, only for ``fib daddr type local``) to
  ``goto np-<key>``, which marks the packet for masquerade and goes on to the
  service chain, as kube-proxy does for externalTrafficPolicy Cluster.
- ``svc-<key>`` first honours ClientIP affinity (``ip saddr @aff-<ep>`` ->
  that endpoint), then picks an endpoint uniformly: rule *i* of *N* takes
  ``numgen random mod (N-i) 0`` (probability 1/(N-i)), the last one takes the
  rest.  An anonymous ``numgen ... vmap { }`` per service would read better,
  but nft 1.0.6 then needs 3.8 s instead of 0.9 s to load 5,000 services (and
  2.4 s with named maps), so berth uses the cascade, as iptables-mode does.
- ``ep-<key>/<ip>/<port>`` marks hairpin traffic (the client is the backend
  itself) for masquerade, records the client in the endpoint's affinity set
  (``flags dynamic,timeout``), and DNATs to the pod.
- A port without ready endpoints has its address in ``no-endpoint-services``
  / ``no-endpoint-nodeports`` instead; a filter chain that runs before NAT
  rejects new connections to them (TCP reset, ICMP port unreachable).
- ``cluster-ips`` holds every ClusterIP; a new connection to one on a port no
  Service has is rejected (after the dispatch map missed), never routed on.
- ``nat-postrouting`` masquerades only packets carrying the mark.

``render_full`` deletes and rebuilds the table in one script. ``render_changes``
touches only the ports whose ``ServicePort`` differs: map elements are deleted
or added, a changed service chain is flushed and refilled, and endpoint chains
and affinity sets are created or deleted only for endpoints that came or went
(so affinity of the others survives).  Each script is one ``nft -f``
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from berth.proxy.model import DNSRedirect, Endpoint, ProxyState, ServicePort

TABLE = "inet berth"
MASQ_MARK = "0x4000"
ADDR_KEY = "ipv4_addr . inet_proto . inet_service"
PORT_KEY = "inet_proto . inet_service"
MAPS = ("service-ips", "service-nodeports", "no-endpoint-services", "no-endpoint-nodeports")


def svc_chain(sp: ServicePort) -> str:
    return f"svc-{sp.key}"


def nodeport_chain(sp: ServicePort) -> str:
    return f"np-{sp.key}"


def ep_chain(sp: ServicePort, ep: Endpoint) -> str:
    return f"ep-{sp.key}/{ep.ip}/{ep.port}"


def affinity_set(sp: ServicePort, ep: Endpoint) -> str:
    return f"aff-{sp.key}/{ep.ip}/{ep.port}"


def skeleton(dns: DNSRedirect | None) -> list[str]:
    """The maps, base chains and fixed rules every table has."""
    t = TABLE
    lines = [
        f"add map {t} service-ips {{ type {ADDR_KEY} : verdict; }}",
        f"add map {t} service-nodeports {{ type {PORT_KEY} : verdict; }}",
        f"add map {t} no-endpoint-services {{ type {ADDR_KEY} : verdict; }}",
        f"add map {t} no-endpoint-nodeports {{ type {PORT_KEY} : verdict; }}",
        f"add chain {t} reject-chain",
        f"add rule {t} reject-chain meta l4proto tcp reject with tcp reset",
        f"add rule {t} reject-chain reject",
        f"add chain {t} endpoints-check",
        f"add rule {t} endpoints-check ip daddr . meta l4proto . th dport "
        "vmap @no-endpoint-services",
        f"add rule {t} endpoints-check fib daddr type local ip daddr != 127.0.0.0/8 "
        "meta l4proto . th dport vmap @no-endpoint-nodeports",
        f"add chain {t} services",
        f"add rule {t} services ip daddr . meta l4proto . th dport vmap @service-ips",
        f"add rule {t} services fib daddr type local ip daddr != 127.0.0.0/8 "
        "meta l4proto . th dport vmap @service-nodeports",
        f"add set {t} cluster-ips {{ type ipv4_addr; }}",
        f"add rule {t} services ip daddr @cluster-ips jump reject-chain",
        f"add chain {t} mark-for-masquerade",
        f"add rule {t} mark-for-masquerade meta mark set meta mark | {MASQ_MARK}",
    ]
    for name, kind, hook, prio, rule in (
        ("filter-prerouting", "filter", "prerouting", -110, "ct state new jump endpoints-check"),
        ("filter-output", "filter", "output", -110, "ct state new jump endpoints-check"),
        ("nat-prerouting", "nat", "prerouting", -100, "jump services"),
        ("nat-output", "nat", "output", -100, "jump services"),
        ("nat-postrouting", "nat", "postrouting", 100,
         f"meta mark & {MASQ_MARK} == {MASQ_MARK} masquerade"),
    ):
        lines.append(f"add chain {t} {name} {{ type {kind} hook {hook} priority {prio}; "
                     "policy accept; }")
        lines.append(f"add rule {t} {name} {rule}")
    if dns is not None:
        lines += [
            f"add chain {t} dns-redirect",
            f"add rule {t} dns-redirect meta l4proto {{ tcp, udp }} redirect to :{dns.to_port}",
            f"add element {t} service-ips {{ {dns.ip} . tcp . {dns.port} : goto dns-redirect, "
            f"{dns.ip} . udp . {dns.port} : goto dns-redirect }}",
            f"add element {t} cluster-ips {{ {dns.ip} }}",
        ]
    return lines


def elements(sp: ServicePort) -> dict[str, set[str]]:
    """The map elements of one service port, by map name."""
    out: dict[str, set[str]] = {m: set() for m in MAPS}
    addr = f"{sp.cluster_ip} . {sp.protocol} . {sp.port}"
    node = f"{sp.protocol} . {sp.node_port}"
    if sp.endpoints:
        out["service-ips"].add(f"{addr} : goto {svc_chain(sp)}")
        if sp.node_port:
            out["service-nodeports"].add(f"{node} : goto {nodeport_chain(sp)}")
    else:
        out["no-endpoint-services"].add(f"{addr} : goto reject-chain")
        if sp.node_port:
            out["no-endpoint-nodeports"].add(f"{node} : goto reject-chain")
    return out


def endpoint_objects(sp: ServicePort, ep: Endpoint) -> list[str]:
    chain, t = ep_chain(sp, ep), TABLE
    lines = []
    if sp.affinity_seconds:
        lines.append(f"add set {t} {affinity_set(sp, ep)} {{ type ipv4_addr; "
                     f"flags dynamic,timeout; timeout {sp.affinity_seconds}s; }}")
    lines.append(f"add chain {t} {chain}")
    lines.append(f"add rule {t} {chain} ip saddr {ep.ip} jump mark-for-masquerade")
    if sp.affinity_seconds:
        lines.append(f"add rule {t} {chain} update @{affinity_set(sp, ep)} {{ ip saddr }}")
    lines.append(f"add rule {t} {chain} meta l4proto {sp.protocol} dnat ip to {ep.ip}:{ep.port}")
    return lines


def service_rules(sp: ServicePort) -> list[str]:
    """The rules of ``svc-<key>`` (the chain itself must exist and be empty)."""
    chain, t = svc_chain(sp), TABLE
    lines = []
    if sp.affinity_seconds:
        lines += [f"add rule {t} {chain} ip saddr @{affinity_set(sp, ep)} goto {ep_chain(sp, ep)}"
                  for ep in sp.endpoints]
    n = len(sp.endpoints)
    for i, ep in enumerate(sp.endpoints[:-1]):
        lines.append(f"add rule {t} {chain} numgen random mod {n - i} 0 goto {ep_chain(sp, ep)}")
    if sp.endpoints:
        lines.append(f"add rule {t} {chain} goto {ep_chain(sp, sp.endpoints[-1])}")
    return lines


def port_objects(sp: ServicePort) -> list[str]:
    """Every chain, set and rule of one service port (not its map elements)."""
    t = TABLE
    lines: list[str] = []
    for ep in sp.endpoints:
        lines += endpoint_objects(sp, ep)
    lines.append(f"add chain {t} {svc_chain(sp)}")
    lines += service_rules(sp)
    return lines + nodeport_objects(sp)


def nodeport_objects(sp: ServicePort) -> list[str]:
    """``np-<key>``: mark for masquerade, then the service chain (only with a NodePort)."""
    if not sp.node_port:
        return []
    t = TABLE
    return [f"add chain {t} {nodeport_chain(sp)}",
            f"add rule {t} {nodeport_chain(sp)} jump mark-for-masquerade",
            f"add rule {t} {nodeport_chain(sp)} goto {svc_chain(sp)}"]


def _element_commands(verb: str, by_map: dict[str, set[str]]) -> list[str]:
    return [f"{verb} element {TABLE} {m} {{ {', '.join(sorted(items))} }}"
            for m, items in by_map.items() if items]


def _merge(target: dict[str, set[str]], more: dict[str, set[str]]) -> None:
    for m, items in more.items():
        target.setdefault(m, set()).update(items)


def render_full(state: ProxyState) -> str:
    """A script that replaces the whole table with ``state``."""
    lines = [f"add table {TABLE}", f"delete table {TABLE}", f"add table {TABLE}"]
    lines += skeleton(state.dns)
    all_elements: dict[str, set[str]] = {}
    for sp in state.ports.values():
        lines += port_objects(sp)
        _merge(all_elements, elements(sp))
    lines += _element_commands("add", all_elements)
    lines += _cluster_ip_commands("add", _cluster_ips(state) - _static_ips(state))
    return "\n".join(lines) + "\n"


def _cluster_ips(state: ProxyState) -> set[str]:
    return {sp.cluster_ip for sp in state.ports.values()}


def _static_ips(state: ProxyState) -> set[str]:
    return {state.dns.ip} if state.dns else set()


def _cluster_ip_commands(verb: str, ips: set[str]) -> list[str]:
    """``cluster-ips`` holds every ClusterIP: other ports of them are rejected, not routed."""
    return [f"{verb} element {TABLE} cluster-ips {{ {', '.join(sorted(ips))} }}"] if ips else []


def _delete_endpoint(sp: ServicePort, ep: Endpoint) -> list[str]:
    lines = [f"delete chain {TABLE} {ep_chain(sp, ep)}"]
    if sp.affinity_seconds:
        lines.append(f"delete set {TABLE} {affinity_set(sp, ep)}")
    return lines


def _delete_port(sp: ServicePort) -> list[str]:
    """Flush the chains that refer to others, then delete them all."""
    t = TABLE
    lines = [f"flush chain {t} {svc_chain(sp)}"]
    if sp.node_port:
        lines = [f"delete chain {t} {nodeport_chain(sp)}", *lines]
    lines.append(f"delete chain {t} {svc_chain(sp)}")
    for ep in sp.endpoints:
        lines += _delete_endpoint(sp, ep)
    return lines


def _update_port(old: ServicePort, new: ServicePort) -> list[str]:
    """Refill ``svc-<key>``; replace only endpoints that came, went or changed shape."""
    t = TABLE
    same_shape = old.affinity_seconds == new.affinity_seconds and old.protocol == new.protocol
    kept = set(old.endpoints) & set(new.endpoints) if same_shape else set()
    lines = [f"flush chain {t} {svc_chain(new)}"]
    if old.node_port and not new.node_port:
        lines.append(f"delete chain {t} {nodeport_chain(old)}")
    for ep in old.endpoints:
        if ep not in kept:
            lines += _delete_endpoint(old, ep)
    for ep in new.endpoints:
        if ep not in kept:
            lines += endpoint_objects(new, ep)
    lines += service_rules(new)
    return lines + (nodeport_objects(new) if new.node_port and not old.node_port else [])


def render_changes(old: ProxyState, new: ProxyState) -> str:
    """A script that turns the table of ``old`` into that of ``new``; "" if nothing changed."""
    if old.dns != new.dns:
        return render_full(new)
    removed_el: dict[str, set[str]] = {}
    added_el: dict[str, set[str]] = {}
    deletes: list[str] = []
    adds: list[str] = []
    for key in _changed_keys(old, new):
        before, after = old.ports.get(key), new.ports.get(key)
        el_before = elements(before) if before else {}
        el_after = elements(after) if after else {}
        for m in MAPS:
            gone = el_before.get(m, set()) - el_after.get(m, set())
            came = el_after.get(m, set()) - el_before.get(m, set())
            removed_el.setdefault(m, set()).update(gone)
            added_el.setdefault(m, set()).update(came)
        if before is not None and after is None:
            deletes += _delete_port(before)
        elif before is None and after is not None:
            adds += port_objects(after)
        elif before is not None and after is not None:
            adds += _update_port(before, after)
    ips_before = _cluster_ips(old) - _static_ips(old)
    ips_after = _cluster_ips(new) - _static_ips(new)
    lines = _element_commands("delete", removed_el) + deletes + adds
    lines += _element_commands("add", added_el)
    lines += _cluster_ip_commands("delete", ips_before - ips_after)
    lines += _cluster_ip_commands("add", ips_after - ips_before)
    return "\n".join(lines) + "\n" if lines else ""


def _changed_keys(old: ProxyState, new: ProxyState) -> Iterable[str]:
    keys = set(old.ports) | set(new.ports)
    return sorted(k for k in keys if old.ports.get(k) != new.ports.get(k))
