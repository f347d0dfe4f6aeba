"""Reading EndpointSlices: which addresses are usable backends.

The proxy (which backends get traffic) and cluster DNS (which A records a
headless Service publishes) read EndpointSlices the same way: IPv4 slices
only, endpoints whose ``conditions.ready`` is not false, addresses that parse
as IPv4. That one rule lives here so the two cannot drift apart.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from typing import Any

Obj = dict[str, Any]


def ipv4(text: object) -> str | None:
    """``text`` as a normalised IPv4 address, or None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def ready_addresses(slices: Iterable[Obj], *, include_not_ready: bool = False
                    ) -> Iterator[tuple[Obj, Obj, str]]:
    """(slice, endpoint, ip) for each IPv4 address of each ready endpoint.

    An endpoint without a ``ready`` condition counts as ready, as the
    EndpointSlice API says; ``include_not_ready`` (a Service's
    ``publishNotReadyAddresses``) keeps the unready ones too.
    """
    for es in slices:
        if es.get("addressType", "IPv4") != "IPv4":
            continue
        for ep in es.get("endpoints") or []:
            if not include_not_ready and (ep.get("conditions") or {}).get("ready") is False:
                continue
            for addr in ep.get("addresses") or []:
                ip = ipv4(addr)
                if ip:
                    yield es, ep, ip
