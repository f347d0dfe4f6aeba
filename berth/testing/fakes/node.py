"""Pod workers of a node agent on fakes: the kubelet's state machine without root or runc.

`FakeNode` builds the `NodeContext` a real agent builds, with the fake
runtime, image store and sandbox network, a `RecordingClient`, and the
clock of a `looptime.VirtualTimeLoop`; ``run_pod`` starts a real
`PodWorker` for a pod (defaulted by the API's rules, as the server would
store it). Every status the worker reports is handed back to it as the pod
watch would (``worker.update``), ``delete`` sets the deletionTimestamp as
the API server does. Tests then let simulated time pass (``await
node.wait(30)``) and read what a user would see: ``status(name)``, the
Events, the runtime's calls.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from pathlib import Path
from typing import Any, cast

from berth.api.defaults import apply_defaults
from berth.client import Client
from berth.node import podspec
from berth.node.clock import rfc3339
from berth.node.context import NodeContext
from berth.node.network import NetnsExecutor
from berth.node.worker import PodWorker
from berth.testing.fakes.client import RecordingClient
from berth.testing.fakes.images import FakeImageStore
from berth.testing.fakes.runtime import FakeRuntimeService, FakeSandboxNetwork
from berth.testing.looptime import LoopClock

Obj = dict[str, Any]
HOST_IP = "198.18.0.2"


def make_pod(name: str, containers: list[Obj], *, namespace: str = "default",
             **spec: Any) -> Obj:
    """A Pod manifest as a user writes it (defaults are applied by ``run_pod``)."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": containers, **spec}}


def make_container(name: str, command: list[str] | None = None, image: str = "busybox",
                   **fields: Any) -> Obj:
    c: Obj = {"name": name, "image": image, **fields}
    if command is not None:
        c["command"] = command
    return c


class FakeNode:
    """One node's pod workers on fakes, over the running `VirtualTimeLoop`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, root: Path, *,
                 node_name: str = "node-1") -> None:
        self.loop = loop
        self.clock = LoopClock(loop)
        self.images = FakeImageStore(root / "images")
        self.network = FakeSandboxNetwork()
        self.runtime = FakeRuntimeService(images=self.images, clock=self.clock,
                                          network=self.network, node_name=node_name)
        self.client = RecordingClient()
        self.client.on_status = self._status_reported
        (root / "node").mkdir(parents=True, exist_ok=True)
        self.executor = NetnsExecutor(workers=1)
        self.ctx = NodeContext(node_name=node_name, runtime=self.runtime,
                               executor=self.executor, clock=self.clock,
                               root_dir=root / "node", host_ip=HOST_IP,
                               client=cast(Client, self.client))
        self.workers: dict[str, PodWorker] = {}
        self._foreign: dict[str, PodWorker] = {}
        self._uids = itertools.count(1)

    def admit(self, manifest: Obj) -> Obj:
        """``manifest`` as the API server stores it: defaulted, with a uid, bound here."""
        pod = copy.deepcopy(manifest)
        apply_defaults(pod)
        meta = pod["metadata"]
        n = next(self._uids)  # like real uids, distinct in their first 12 hex digits
        meta.setdefault("uid", f"{n:08x}-{n:04x}-4000-8000-{n:012x}")
        meta.setdefault("resourceVersion", "1")
        meta.setdefault("creationTimestamp", rfc3339(self.clock.now()))
        pod["spec"]["nodeName"] = self.ctx.node_name
        return pod

    def run_pod(self, manifest: Obj) -> PodWorker:
        """Start a worker for ``manifest`` as stored by the API server (see ``admit``)."""
        pod = self.admit(manifest)
        worker = PodWorker(self.ctx, pod)
        self.workers[pod["metadata"]["name"]] = worker
        worker.start()
        return worker

    def adopt(self, workers: dict[str, PodWorker]) -> None:
        """Workers started by someone else (a `NodeAgent`, by uid) also get their status back."""
        self._foreign = workers

    def _worker(self, name: str) -> PodWorker | None:
        found = [w for w in self._foreign.values() if podspec.meta(w.pod).get("name") == name]
        return self.workers.get(name) or (found[-1] if found else None)

    def _status_reported(self, name: str, status: Obj) -> None:
        worker = self._worker(name)
        if worker is not None and not worker.done.is_set():
            pod = copy.deepcopy(worker.pod)
            pod["status"] = status
            worker.update(pod)

    def delete(self, name: str, grace_period: int | None = None) -> PodWorker:
        """A graceful delete through the API: deletionTimestamp and grace period set."""
        worker = self._worker(name)
        assert worker is not None, f"no worker runs pod {name}"
        pod = copy.deepcopy(worker.pod)
        grace = grace_period if grace_period is not None else int(
            pod["spec"].get("terminationGracePeriodSeconds", 30))
        pod["metadata"]["deletionTimestamp"] = rfc3339(self.clock.now() + grace)
        pod["metadata"]["deletionGracePeriodSeconds"] = grace
        worker.update(pod)
        return worker

    async def wait(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass (workers, probes and timers run)."""
        await asyncio.sleep(seconds)

    async def wait_for(self, name: str, predicate: Any, within: float = 600.0,
                       step: float = 0.5) -> Obj:
        """The first status reported for pod ``name`` from now on (or the current one)
        for which ``predicate(status)`` holds; every report counts, even one replaced
        a moment later."""
        deadline = self.loop.time() + within
        current = self.client.statuses.get(name)  # this pod's latest, whichever pod came after
        if current is not None and predicate(current):
            return current
        seen = len(self.client.status_history)
        while True:
            history = self.client.status_history
            for pod, status in history[seen:]:
                if pod == name and predicate(status):
                    return status
            seen = len(history)
            if self.loop.time() >= deadline:
                break
            await asyncio.sleep(step)
        raise AssertionError(f"pod {name}: condition not met within {within} s; last status "
                             f"{self.client.statuses.get(name)}")

    def status(self, name: str) -> Obj:
        return self.client.statuses[name]

    def container(self, pod: str, container: str) -> Obj:
        """The pod's last reported status of ``container`` (app or init)."""
        status = self.status(pod)
        for s in (status.get("containerStatuses") or []) + (
                status.get("initContainerStatuses") or []):
            if s["name"] == container:
                return dict(s)
        raise KeyError(container)

    async def events(self) -> list[str]:
        """Reasons of the Events posted so far."""
        assert self.ctx.events is not None
        await self.ctx.events.flush()
        return self.client.reasons()

    async def close(self) -> None:
        for worker in [*self.workers.values(), *self._foreign.values()]:
            await worker.cancel()
        self.executor.close()
