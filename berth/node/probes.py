"""Liveness, readiness and startup probes of one pod's containers.

``ProbeManager`` runs one asyncio task per (container id, probe kind) while
the container runs: wait ``initialDelaySeconds``, then every
``periodSeconds`` run the handler with ``timeoutSeconds``, and flip the
verdict after ``successThreshold`` successes or ``failureThreshold``
failures (Kubernetes' defaults come from API defaulting).  Liveness and
readiness wait until the startup probe has succeeded.  Handlers: ``exec``
through the runtime's ``exec_sync``; ``httpGet`` and ``tcpSocket`` connect
to the pod IP from the node's network namespace (through the
``NetnsExecutor``).  A changed verdict calls ``on_change`` so the pod
worker syncs at once (readiness -> Ready condition, liveness -> restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from berth.node.network import NetnsExecutor
from berth.node.runtime.errors import RuntimeServiceError
from berth.node.runtime.protocol import RuntimeService

Obj = dict[str, Any]
KINDS = ("startupProbe", "livenessProbe", "readinessProbe")


@dataclass
class Target:
    container_id: str
    spec: Obj  # the container's spec
    pod_ip: str


def _port(spec: Obj, port: Any) -> int:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in spec.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"port {port!r} is not a named port of the container")


def _http_get(host: str, port: int, path: str, headers: dict[str, str], timeout: float) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path or "/", headers={"User-Agent": "kube-probe/1.31", **headers})
        return 200 <= conn.getresponse().status < 400
    finally:
        conn.close()


def _tcp(host: str, port: int, timeout: float) -> bool:
    with socket.create_connection((host, port), timeout=timeout):
        return True


def _describe(probe: Obj) -> str:
    """What a probe checks, for its Unhealthy event."""
    if "exec" in probe:
        return "exec " + " ".join(str(a) for a in probe["exec"].get("command") or [])
    if "httpGet" in probe:
        return f"HTTP GET {probe['httpGet'].get('path', '/')} on port {probe['httpGet'].get('port')}"
    if "tcpSocket" in probe:
        return f"TCP connect to port {probe['tcpSocket'].get('port')}"
    return ""


class ProbeManager:
    def __init__(self, runtime: RuntimeService, executor: NetnsExecutor,
                 on_change: Callable[[], None],
                 on_failure: Callable[[str, str, str], None] | None = None) -> None:
        self.runtime, self.executor, self.on_change = runtime, executor, on_change
        self.on_failure = on_failure  # (container name, probe kind, detail): Unhealthy events
        self.ready: dict[str, bool] = {}
        self.started: dict[str, bool] = {}
        self.liveness_failed: set[str] = set()
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def ensure(self, targets: list[Target]) -> None:
        """Probe exactly these running containers (start new tasks, cancel old ones)."""
        wanted = {t.container_id: t for t in targets}
        for key in [k for k in self._tasks if k[0] not in wanted]:
            self._tasks.pop(key).cancel()
        for cid in [c for c in list(self.ready) + list(self.started) if c not in wanted]:
            self.ready.pop(cid, None)
            self.started.pop(cid, None)
        self.liveness_failed &= set(wanted)
        for t in targets:
            for kind in KINDS:
                probe = t.spec.get(kind)
                if not probe or (t.container_id, kind) in self._tasks:
                    continue
                if kind == "readinessProbe":
                    self.ready.setdefault(t.container_id, False)
                if kind == "startupProbe":
                    self.started.setdefault(t.container_id, False)
                self._tasks[(t.container_id, kind)] = asyncio.create_task(
                    self._loop(t, kind, probe), name=f"probe-{kind}-{t.container_id[:12]}")

    def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    async def run_once(self, t: Target, probe: Obj) -> bool:
        timeout = float(probe.get("timeoutSeconds", 1))
        try:
            if "exec" in probe:
                cmd = list(probe["exec"].get("command") or [])
                result = await self.runtime.exec_sync(t.container_id, cmd, timeout)
                return result.exit_code == 0
            if "httpGet" in probe:
                h = probe["httpGet"]
                host, port = h.get("host") or t.pod_ip, _port(t.spec, h.get("port"))
                headers = {x["name"]: x["value"] for x in h.get("httpHeaders") or []}
                return await self.executor.run(
                    lambda: _http_get(host, port, h.get("path", "/"), headers, timeout))
            if "tcpSocket" in probe:
                s = probe["tcpSocket"]
                host, port = s.get("host") or t.pod_ip, _port(t.spec, s.get("port"))
                return await self.executor.run(lambda: _tcp(host, port, timeout))
        except (OSError, ValueError, http.client.HTTPException, RuntimeServiceError):
            return False
        return False

    async def _loop(self, t: Target, kind: str, probe: Obj) -> None:
        period = float(probe.get("periodSeconds", 10))
        need_ok = int(probe.get("successThreshold", 1))
        need_fail = int(probe.get("failureThreshold", 3))
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        oks = fails = 0
        while True:
            if kind != "startupProbe" and not self.started.get(t.container_id, True):
                await asyncio.sleep(min(period, 1.0))
                continue
            ok = await self.run_once(t, probe)
            oks, fails = (oks + 1, 0) if ok else (0, fails + 1)
            if not ok and self.on_failure is not None:
                with contextlib.suppress(Exception):
                    self.on_failure(str(t.spec.get("name", "")), kind, _describe(probe))
            if oks >= need_ok:
                self._verdict(t.container_id, kind, True)
                if kind == "startupProbe":
                    return
            elif fails >= need_fail:
                self._verdict(t.container_id, kind, False)
                if kind == "livenessProbe":
                    return
            await asyncio.sleep(period)

    def _verdict(self, cid: str, kind: str, ok: bool) -> None:
        changed = False
        if kind == "readinessProbe":
            changed = self.ready.get(cid) != ok
            self.ready[cid] = ok
        elif kind == "startupProbe":
            changed = self.started.get(cid) != ok
            self.started[cid] = ok
            if not ok:
                self.liveness_failed.add(cid)
                changed = True
        elif not ok:
            changed = cid not in self.liveness_failed
            self.liveness_failed.add(cid)
        if changed:
            with contextlib.suppress(Exception):
                self.on_change()
