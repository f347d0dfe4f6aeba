"""Stopping a pod the Kubernetes way: hooks, signals, grace period, order, cleanup.

``terminate_pod`` is what a deletion ends in: the app containers stop
together (preStop exec or sleep hook, then the image's stop signal or
SIGTERM, SIGKILL when the grace period is over), then the native sidecars
one by one in reverse order (each gets at least 2 s), then every sandbox of
the pod is stopped and removed (CNI DEL, netns, pause, cgroups), its
volumes, directory and logs are removed, and - for a pod of the API - the
deletion is confirmed with ``gracePeriodSeconds=0``.  ``stop_finished_pod``
is the lighter end of a pod that reached Succeeded/Failed: sidecars and
sandbox stop (its IP is released), the record stays for its status and logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

from berth.node import labels, podspec, volumes
from berth.node.actions import Observed, plan_termination_order
from berth.node.context import NodeContext
from berth.node.runtime import errors as rterr
from berth.node.runtime.protocol import ContainerState, ContainerStatus, PodSandboxFilter

Obj = dict[str, Any]
log = logging.getLogger("berth.node")
SIDECAR_MIN_GRACE = 2.0


async def stop_container_gracefully(ctx: NodeContext, pod: Obj, s: ContainerStatus,
                                    deadline: float) -> None:
    c = podspec.find_container(pod, s.metadata.name)
    hook = (((c.spec if c else {}).get("lifecycle") or {}).get("preStop") or {})
    rt = ctx.runtime
    if s.state == ContainerState.RUNNING:
        ctx.event(pod, "Killing", f"Stopping container {s.metadata.name}",
                  container=s.metadata.name)
    if "exec" in hook:
        remaining = deadline - ctx.clock.now()
        if remaining > 0:
            with contextlib.suppress(rterr.RuntimeServiceError):
                await rt.exec_sync(s.id, list(hook["exec"].get("command") or []), remaining)
    elif "sleep" in hook:
        seconds = int(hook["sleep"].get("seconds", 0))
        await asyncio.sleep(max(0.0, min(seconds, deadline - ctx.clock.now())))
    await rt.stop_container(s.id, max(SIDECAR_MIN_GRACE, deadline - ctx.clock.now()))


async def terminate_pod(ctx: NodeContext, pod: Obj, observed: Observed, *,
                        confirm: bool) -> None:
    uid = str(podspec.meta(pod).get("uid", ""))
    deadline = ctx.clock.now() + float(podspec.grace_period(pod))
    for stage in plan_termination_order(pod, observed):
        await asyncio.gather(*(stop_container_gracefully(ctx, pod, s, deadline)
                               for s in stage))
    rt = ctx.runtime
    for sandbox in await rt.list_pod_sandbox(
            PodSandboxFilter(label_selector={labels.POD_UID: uid})):
        await rt.remove_pod_sandbox(sandbox.id)
    pod_dir = ctx.pod_dir(uid)
    await asyncio.to_thread(_remove_pod_files, pod_dir, ctx.log_dir(pod))
    ctx.backoff.forget_pod(uid)
    if confirm:
        await ctx.delete_pod(pod)
    log.info("pod %s: terminated", podspec.pod_key(pod))


async def stop_finished_pod(ctx: NodeContext, pod: Obj, observed: Observed) -> None:
    for stage in plan_termination_order(pod, observed):
        for s in stage:
            await ctx.runtime.stop_container(s.id, SIDECAR_MIN_GRACE)
    if observed.sandbox is not None:
        await ctx.runtime.stop_pod_sandbox(observed.sandbox.id)


def _remove_pod_files(pod_dir: Path, log_dir: Path) -> None:
    """Tear down the pod's volumes, remove its directory and its logs (blocking)."""
    volumes.teardown_volumes(pod_dir)
    shutil.rmtree(pod_dir, ignore_errors=True)
    shutil.rmtree(log_dir, ignore_errors=True)
