"""The proxy of one node (the kube-proxy role): keep the node's nftables table in step.

``Proxier.sync`` takes the cluster's Services and EndpointSlices, builds the
desired ``ProxyState`` (pure), renders the whole table on the first sync and
only the differences afterwards (pure), applies the script with one
``nft -f`` (one transaction) and then deletes the UDP conntrack entries that
point at backends that went away.  If applying fails, the state is forgotten,
so the next sync rebuilds the whole table.  ``run`` drives ``sync`` from a
``ServiceWatch`` (its own, or one shared with cluster DNS); the blocking I/O
runs in a worker thread.  With ``netns`` set, nft and conntrack run inside
that network namespace (tests, benchmarks); without it, in the caller's own
(the node agent already runs inside its node's namespace).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from berth.client import Client
from berth.host import nft
from berth.host.conntrack import ConntrackError, delete_udp_entries
from berth.host.errors import HostError
from berth.host.netns import entered
from berth.proxy.errors import SyncFailed
from berth.proxy.model import DNSRedirect, Memo, Obj, ProxyState, build_state
from berth.proxy.plan import plan_changes, plan_conntrack_flushes
from berth.proxy.render import TABLE, render_full
from berth.proxy.watch import ServiceWatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    """What one sync did: full or incremental, script size, flushes, seconds taken."""

    full: bool
    commands: int
    flushes: int
    seconds: float


class Proxier:
    """Programs table ``inet berth`` of one node from Services and EndpointSlices."""

    def __init__(self, node: str, *, client: Client | None = None, netns: str | None = None,
                 dns: DNSRedirect | None = None, watch: ServiceWatch | None = None) -> None:
        self.node = node
        self.client = client
        self.netns = netns
        self.dns = dns
        self.watch = watch
        self.state: ProxyState | None = None
        self._memo: Memo = {}

    @contextlib.contextmanager
    def _inside(self) -> Iterator[None]:
        if self.netns is None:
            yield
        else:
            with entered(self.netns):
                yield

    def sync(self, services: Iterable[Obj], endpointslices: Iterable[Obj]) -> SyncResult:
        """Bring the table in line with these objects (blocking)."""
        start = time.perf_counter()
        new = build_state(services, endpointslices, self.node, self.dns, self._memo)
        old = self.state
        script = render_full(new) if old is None else plan_changes(old, new)
        flushes = plan_conntrack_flushes(old, new) if old is not None else []
        self.state = None
        try:
            with self._inside():
                if script:
                    nft.apply(script)
                self.state = new
                for f in flushes:
                    delete_udp_entries(orig_dst=f.orig_dst, orig_port=f.orig_port,
                                       dst_nat=f.dst_nat)
        except ConntrackError as exc:
            log.warning("stale UDP flows may linger: %s", exc)
        except HostError as exc:
            raise SyncFailed(f"node {self.node}: {exc}") from exc
        return SyncResult(old is None, script.count("\n"), len(flushes),
                          time.perf_counter() - start)

    def teardown(self) -> None:
        """Delete the table (nothing left behind); succeeds if it is already gone."""
        try:
            with self._inside():
                nft.apply(f"add table {TABLE}\ndelete table {TABLE}\n")
        except HostError as exc:
            raise SyncFailed(f"node {self.node}: cannot delete table {TABLE}: {exc}") from exc
        self.state = None

    async def run(self) -> None:
        """Sync after every change of Services or EndpointSlices, until cancelled."""
        watch = self.watch
        owned: asyncio.Task[None] | None = None
        if watch is None:
            if self.client is None:
                raise SyncFailed("the proxy needs an API client or a ServiceWatch")
            watch = ServiceWatch(self.client)
            owned = asyncio.create_task(watch.run())
        try:
            async for services, slices in watch.snapshots():
                try:
                    result = await asyncio.to_thread(self.sync, services, slices)
                    log.debug("proxy sync: %s", result)
                except SyncFailed as exc:
                    log.error("proxy sync failed (will rebuild): %s", exc)
        finally:
            if owned is not None:
                owned.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await owned
