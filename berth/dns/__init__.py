"""berth.dns: cluster DNS, authoritative for the cluster domain (cluster.local).

``index`` builds the records from Services and EndpointSlices, ``resolver``
answers one query from them (pure), ``server`` serves UDP and TCP with asyncio,
``resolvconf`` writes a ClusterFirst pod's resolv.conf. See docs/services.md.
"""

from berth.dns.errors import BadConfig, DNSError, ServeFailed
from berth.dns.index import ClusterIndex, Srv, build_index, reverse_name
from berth.dns.resolvconf import resolv_conf
from berth.dns.resolver import Answer, resolve, respond
from berth.dns.server import ClusterDNS, SnapshotSource, answer_wire

__all__ = [
    "Answer",
    "BadConfig",
    "ClusterDNS",
    "ClusterIndex",
    "DNSError",
    "ServeFailed",
    "SnapshotSource",
    "Srv",
    "answer_wire",
    "build_index",
    "resolv_conf",
    "resolve",
    "respond",
    "reverse_name",
]
