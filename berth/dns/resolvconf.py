"""The resolv.conf a pod with dnsPolicy ClusterFirst gets: cluster DNS first, cluster search list.

Pure text: the node agent writes it into the pod's sandbox.  ``ndots:5`` makes
short names (``web``, ``web.prod``) try the search list before going absolute,
as in Kubernetes.
"""

from __future__ import annotations

import ipaddress

from berth.dns.errors import BadConfig


def resolv_conf(namespace: str, dns_ip: str = "10.96.0.10",
                domain: str = "cluster.local") -> str:
    """``nameserver``, ``search <ns>.svc.<domain> svc.<domain> <domain>``, ``options ndots:5``."""
    try:
        ip = ipaddress.ip_address(dns_ip)
    except ValueError:
        raise BadConfig(f"dns_ip: {dns_ip!r} is not an IP address") from None
    domain = domain.strip(".")
    for field, value in (("namespace", namespace), ("domain", domain)):
        if not value:
            raise BadConfig(f"{field}: must not be empty")
    return (f"nameserver {ip}\n"
            f"search {namespace}.svc.{domain} svc.{domain} {domain}\n"
            "options ndots:5\n")
