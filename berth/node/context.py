"""What every pod worker shares: the runtime, the API client, the clock, paths and identity.

``NodeContext`` is built once by the agent and handed to each ``PodWorker``;
``report_status``, ``delete_pod`` and ``event`` (queued, see ``events``) are
the worker's only ways to the API server (None client: static pods only,
nothing is reported).
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from berth.api.errors import APIError, NotFound
from berth.api.resources import by_key
from berth.client import Client, ClientError
from berth.node import podspec
from berth.node.backoff import CrashBackoff
from berth.node.clock import Clock, rfc3339
from berth.node.convert import ClusterDNS
from berth.node.events import EventRecorder
from berth.node.network import NetnsExecutor
from berth.node.runtime.protocol import RuntimeService

Obj = dict[str, Any]
log = logging.getLogger("berth.node")
PODS = by_key("pods")
CONFIGMAPS = by_key("configmaps")
SECRETS = by_key("secrets")


@dataclass
class NodeContext:
    node_name: str
    runtime: RuntimeService
    executor: NetnsExecutor
    clock: Clock
    root_dir: Path
    host_ip: str
    client: Client | None = None
    dns: ClusterDNS = field(default_factory=ClusterDNS)
    backoff: CrashBackoff = field(default_factory=CrashBackoff)
    cgroup_root: str = "/berth"
    max_log_bytes: int = 10 << 20  # a container log is rotated (one .1 kept) past this
    _sent: dict[str, str] = field(default_factory=dict)
    events: EventRecorder | None = None

    def __post_init__(self) -> None:
        if self.events is None:
            self.events = EventRecorder(self.client, self.node_name)

    def event(self, pod: Obj, reason: str, message: str, *, warning: bool = False,
              container: str = "") -> None:
        """Queue a kubelet Event about ``pod`` (or one of its containers); never blocks."""
        assert self.events is not None
        self.events.record(pod, reason, message, now=rfc3339(self.clock.now()),
                           event_type="Warning" if warning else "Normal", container=container)

    def pod_dir(self, uid: str) -> Path:
        return self.root_dir / "pods" / uid

    def log_dir(self, pod: Obj) -> Path:
        m = podspec.meta(pod)
        return self.root_dir / "logs" / f"{m.get('namespace')}_{m.get('name')}_{m.get('uid')}"

    def cgroup_parent(self, uid: str) -> str:
        return f"{self.cgroup_root.rstrip('/')}/{self.node_name}/pod{uid}"

    async def report_status(self, pod: Obj, status: Obj) -> None:
        """Send ``status`` unless it is what was sent last (merge patch on pods/status)."""
        m = podspec.meta(pod)
        uid = str(m.get("uid", ""))
        encoded = json.dumps(status, sort_keys=True)
        if self.client is None or self._sent.get(uid) == encoded:
            return
        assert PODS is not None
        try:
            await self.client.patch(PODS, m.get("namespace"), m.get("name", ""),
                                    {"status": status}, patch_type="merge",
                                    subresource="status")
            self._sent[uid] = encoded
        except NotFound:
            self._sent.pop(uid, None)
        except (APIError, ClientError) as exc:
            log.warning("pod %s: status update failed: %s", podspec.pod_key(pod), exc)

    async def delete_pod(self, pod: Obj) -> None:
        """Confirm a graceful deletion: delete with gracePeriodSeconds=0 (missing is fine)."""
        m = podspec.meta(pod)
        self._sent.pop(str(m.get("uid", "")), None)
        if self.client is None:
            return
        assert PODS is not None
        with contextlib.suppress(NotFound):
            await self.client.delete(PODS, m.get("namespace"), m.get("name", ""),
                                     grace_period=0)

    async def fetch_sources(self, pod: Obj) -> tuple[dict[str, Obj], dict[str, Obj]]:
        """The ConfigMaps and Secrets the pod references that exist (by name)."""
        from berth.node.convert import referenced_sources

        cms, secrets = referenced_sources(pod)
        ns = podspec.meta(pod).get("namespace", "default")
        found: tuple[dict[str, Obj], dict[str, Obj]] = ({}, {})
        if self.client is None:
            return found
        for names, res, table in ((cms, CONFIGMAPS, found[0]), (secrets, SECRETS, found[1])):
            assert res is not None
            for name in names:
                with contextlib.suppress(NotFound):
                    table[name] = await self.client.get(res, ns, name)
        return found
