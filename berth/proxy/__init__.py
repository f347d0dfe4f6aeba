"""berth.proxy: Services on the data path, with nftables (the kube-proxy role).

``model`` builds the desired state from Services and EndpointSlices, ``render``
writes it as nft commands (whole table or differences), ``plan`` holds the pure
entry points, ``proxier`` applies them on a node, ``watch`` feeds it by
list+watch. See docs/services.md.
"""

from berth.proxy.errors import ProxyError, SyncFailed
from berth.proxy.model import DNSRedirect, Endpoint, ProxyState, ServicePort, build_state
from berth.proxy.plan import (
    ConntrackFlush,
    plan_changes,
    plan_conntrack_flushes,
    plan_ruleset,
)
from berth.proxy.proxier import Proxier, SyncResult
from berth.proxy.watch import ServiceWatch

__all__ = [
    "ConntrackFlush",
    "DNSRedirect",
    "Endpoint",
    "Proxier",
    "ProxyError",
    "ProxyState",
    "ServicePort",
    "ServiceWatch",
    "SyncFailed",
    "SyncResult",
    "build_state",
    "plan_changes",
    "plan_conntrack_flushes",
    "plan_ruleset",
]
