"""Pure range arithmetic for the Service allocators: which IPs and ports may be handed out.

`IPRange` is a Service CIDR without its network address (and, for IPv4, its
broadcast address), as Kubernetes' ipallocator; `PortRange` is the NodePort
range. Both number their members from 0 and `pick_free` finds a free member
from a random starting point (wrapping around), so concurrent allocators rarely
collide and a full range is detected in one sweep.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class IPRange:
    network: Network

    @property
    def size(self) -> int:
        reserved = 2 if self.network.version == 4 else 1
        return max(0, self.network.num_addresses - reserved)

    def offset(self, ip: str) -> int | None:
        """The member number of `ip`, or None if it is not a member."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if addr.version != self.network.version or addr not in self.network:
            return None
        index = int(addr) - int(self.network.network_address) - 1
        return index if 0 <= index < self.size else None

    def member(self, index: int) -> str:
        return str(ipaddress.ip_address(int(self.network.network_address) + 1 + index))

    def describe(self) -> str:
        return str(self.network)


@dataclass(frozen=True)
class PortRange:
    low: int
    high: int

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def offset(self, port: int) -> int | None:
        return port - self.low if self.low <= port <= self.high else None

    def member(self, index: int) -> int:
        return self.low + index

    def describe(self) -> str:
        return f"{self.low}-{self.high}"


def pick_free(size: int, used: Collection[int],
              rand: Callable[[int], int] = random.randrange) -> int | None:
    """A member number not in `used`, scanning from a random start; None if all are used."""
    if size <= 0 or len(used) >= size:
        return None
    start = rand(size)
    for step in range(size):
        index = (start + step) % size
        if index not in used:
            return index
    return None
