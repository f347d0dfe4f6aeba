"""One pod, one worker: the kubelet's pod worker on top of the pure planner.

``PodWorker.run`` waits for a wake-up (a new version of the pod, a probe
verdict, the agent's 1 s tick) and syncs: observe the pod's sandbox and
containers through the runtime (found by the pod-uid label, so a restarted
agent sees what its predecessor started), ask ``plan_pod_actions`` what to
do, apply it (sandbox with volumes and CNI, containers with env, mounts and
hooks), plan again until nothing is left to do now, then report the status
that ``plan_pod_status`` computes.  Updates that arrive while a sync runs
replace the pod it will use next; a requested kill is sticky and ends in
``termination.terminate_pod`` (hooks, grace period, order, cleanup, and the
final ``gracePeriodSeconds=0`` delete that removes the pod from the API).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from berth.host import netns
from berth.node import convert, labels, podspec, termination, volumes
from berth.node.actions import (
    Observed,
    PodActions,
    Verdicts,
    plan_pod_actions,
)
from berth.node.clock import rfc3339
from berth.node.context import NodeContext
from berth.node.errors import EnvError, NodeError, UnsupportedPod, VolumeError
from berth.node.podstatus import StatusInputs, plan_pod_status
from berth.node.probes import ProbeManager, Target
from berth.node.runtime import errors as rterr
from berth.node.runtime.protocol import (
    ContainerFilter,
    ContainerState,
    ContainerStatus,
    PodSandboxFilter,
    SandboxState,
)

Obj = dict[str, Any]
log = logging.getLogger("berth.node")
TICK = 1.0
FAST_TICK = 0.2
UNKNOWN_GRACE = 3.0  # seconds a dead process may lack its exit status before it counts
KEEP_DEAD = 2  # per container name: the current one and the previous (for --previous logs)


def _attempts_from_status(pod: Obj) -> dict[str, int]:
    """The last attempt of each container that ran, from the reported status."""
    status = pod.get("status") or {}
    out = {}
    for s in (status.get("containerStatuses") or []) + (
            status.get("initContainerStatuses") or []):
        if s.get("containerID"):
            out[s["name"]] = int(s.get("restartCount") or 0)
    return out


class PodWorker:
    def __init__(self, ctx: NodeContext, pod: Obj) -> None:
        self.ctx = ctx
        self.pod = pod
        self.uid = str(podspec.meta(pod).get("uid", ""))
        self.kill_requested = bool(podspec.meta(pod).get("deletionTimestamp"))
        self.in_api = True
        self.done = asyncio.Event()
        self._wake = asyncio.Event()
        self._fast = False
        self.probes = ProbeManager(ctx.runtime, ctx.executor, self.wake,
                                   on_failure=self._probe_failed)
        self._backoff_told: dict[str, int] = {}  # container -> restartCount of its BackOff event
        self.start_errors: dict[str, tuple[str, str]] = {}
        self.terminal = ""
        self.start_time = str((pod.get("status") or {}).get("startTime") or "")
        self._task: asyncio.Task[None] | None = None
        self._unknown_since: dict[str, float] = {}
        self.last_attempt = _attempts_from_status(pod)  # survives a new sandbox

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"pod-{podspec.pod_key(self.pod)}")

    def wake(self) -> None:
        self._wake.set()

    def update(self, pod: Obj) -> None:
        """A newer version of the pod; a deletionTimestamp turns into a (sticky) kill."""
        self.pod = pod
        if podspec.meta(pod).get("deletionTimestamp"):
            self.kill_requested = True
        self.wake()

    def remove(self) -> None:
        """The pod is gone from the API (or the manifest): kill it, nothing to confirm."""
        self.in_api = False
        self.kill_requested = True
        self.wake()

    async def cancel(self) -> None:
        self.probes.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        self._wake.set()
        while True:
            with contextlib.suppress(TimeoutError):  # not wait_for: it can swallow a cancel
                async with asyncio.timeout(FAST_TICK if self._fast else TICK):
                    await self._wake.wait()
            self._wake.clear()
            try:
                if self.kill_requested:
                    await self.terminate()
                    self.done.set()
                    return
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pod %s: sync failed", podspec.pod_key(self.pod))

    # -- observing -----------------------------------------------------------------------
    async def observe(self) -> Observed:
        rt = self.ctx.runtime
        sandboxes = await rt.list_pod_sandbox(
            PodSandboxFilter(label_selector={labels.POD_UID: self.uid}))
        ready = [s for s in sandboxes if s.state == SandboxState.READY]
        live = ready[-1] if ready else None
        dead = tuple(s.id for s in sandboxes if s is not live)
        if live is None:
            return Observed(dead_sandboxes=dead)
        by_name: dict[str, list[ContainerStatus]] = {}
        for c in await rt.list_containers(ContainerFilter(pod_sandbox_id=live.id)):
            with contextlib.suppress(rterr.NotFound):
                status = await rt.container_status(c.id)
                by_name.setdefault(c.metadata.name, []).append(status)
        for name, found in by_name.items():
            found.sort(key=lambda s: (s.metadata.attempt, s.created_at))
            self.last_attempt[name] = max(self.last_attempt.get(name, -1),
                                          found[-1].metadata.attempt)
        return Observed(sandbox=await rt.pod_sandbox_status(live.id), dead_sandboxes=dead,
                        containers=by_name)

    def settled_unknowns(self, observed: Observed) -> frozenset[str]:
        """Containers UNKNOWN for longer than UNKNOWN_GRACE: their monitor is gone."""
        now = self.ctx.clock.now()
        unknown = {s.id for found in observed.containers.values() for s in found
                   if s.state == ContainerState.UNKNOWN}
        for cid in unknown:
            self._unknown_since.setdefault(cid, now)
        for cid in set(self._unknown_since) - unknown:
            del self._unknown_since[cid]
        return frozenset(c for c, t in self._unknown_since.items() if now - t >= UNKNOWN_GRACE)

    # -- syncing -------------------------------------------------------------------------
    async def sync(self) -> None:
        pod = self.pod
        if self.terminal or podspec.is_terminal(pod):
            self.terminal = self.terminal or str(pod["status"]["phase"])
            return  # a finished pod never runs again; its final status was reported
        if not self.start_time:
            self.start_time = rfc3339(self.ctx.clock.now())
        observed, actions = Observed(), PodActions()
        for _ in range(8):
            observed = await self.observe()
            verdicts = Verdicts(liveness_failed=frozenset(self.probes.liveness_failed),
                                start_failed=frozenset(self.start_errors),
                                unknown_settled=self.settled_unknowns(observed))
            actions = plan_pod_actions(pod, observed, self.ctx.clock.now(), self.ctx.backoff,
                                       verdicts)
            if actions.idle:
                break
            if not await self.apply(pod, observed, actions):
                break
        self._fast = bool(actions.waiting_on_init or actions.settling)
        if actions.terminal:
            self.terminal = actions.terminal
            await self.stop_leftovers(pod, observed)
        self.probes.ensure([
            Target(s.id, c.spec, observed.sandbox.network.ip)
            for c in podspec.all_containers(pod)
            if observed.sandbox is not None and (s := observed.latest(c.name)) is not None
            and s.state == ContainerState.RUNNING])
        await self.rotate_logs(observed)
        await self.report(observed, actions)

    async def rotate_logs(self, observed: Observed) -> None:
        """Rename a running container's log past ``max_log_bytes`` to ``.1``, then reopen."""
        limit = self.ctx.max_log_bytes
        for found in observed.containers.values():
            s = found[-1]
            if s.state != ContainerState.RUNNING or not s.log_path:
                continue
            if await asyncio.to_thread(_rotate_if_larger, Path(s.log_path), limit):
                with contextlib.suppress(rterr.RuntimeServiceError):
                    await self.ctx.runtime.reopen_container_log(s.id)

    async def apply(self, pod: Obj, observed: Observed, actions: PodActions) -> bool:
        """Carry out one round of actions; False when the pod cannot progress now."""
        rt = self.ctx.runtime
        for sid in actions.remove_sandboxes:
            await rt.remove_pod_sandbox(sid)
        if actions.create_sandbox:
            return await self.create_sandbox(pod)
        names = {s.id: name for name, found in observed.containers.items() for s in found}
        for cid, why in actions.kill:
            log.info("pod %s: killing container %s: %s", podspec.pod_key(pod), cid[:12], why)
            name = names.get(cid, "")
            self.ctx.event(pod, "Killing", f"Container {name} failed liveness probe, will be "
                           "restarted" if "liveness" in why else f"Stopping container {name}",
                           container=name)
            await rt.stop_container(cid, float(podspec.grace_period(pod)))
            self.probes.liveness_failed.discard(cid)
        for c in actions.start:
            if not await self.start_container(pod, c, observed):
                return False
        return True

    async def create_sandbox(self, pod: Obj) -> bool:
        key, now = (self.uid, ""), self.ctx.clock.now()
        if self.ctx.backoff.in_backoff(key, now):
            return False
        try:
            cms, secrets = await self.ctx.fetch_sources(pod)
            sources = convert.Sources(
                {n: convert.config_map_data(o) for n, o in cms.items()},
                {n: convert.decode_secret(o) for n, o in secrets.items()})
            await asyncio.to_thread(volumes.setup_volumes, pod, self.ctx.pod_dir(self.uid),
                                    sources, self.ctx.node_name)
            config = self.sandbox_config(pod)
            await asyncio.to_thread(self.ctx.log_dir(pod).mkdir, parents=True, exist_ok=True)
            await self.ctx.runtime.run_pod_sandbox(config)
        except (NodeError, rterr.RuntimeServiceError, OSError) as exc:
            config_error = isinstance(exc, VolumeError | UnsupportedPod)
            reason = "CreateContainerConfigError" if config_error else "ContainerCreating"
            message = str(exc) if config_error \
                else f"failed to create pod sandbox: {exc}"
            log.warning("pod %s: %s", podspec.pod_key(pod), message)
            self.ctx.event(pod, "Failed" if config_error else "FailedCreatePodSandBox",
                           f"Error: {message}" if config_error
                           else f"Failed to create pod sandbox: {exc}", warning=True)
            for c in podspec.all_containers(pod):
                self.start_errors[c.name] = (reason, message)
            self.ctx.backoff.record_restart(key, now)
            return False
        self.start_errors.clear()
        return True

    def sandbox_config(self, pod: Obj) -> Any:
        node_ns = self.ctx.executor.netns_name
        return convert.plan_sandbox_config(
            pod, log_dir=str(self.ctx.log_dir(pod)), cgroup_parent="",
            dns=self.ctx.dns, node_name=self.ctx.node_name,
            node_netns_path=netns.netns_path(node_ns) if node_ns else "")

    async def start_container(self, pod: Obj, c: podspec.ContainerSpec,
                              observed: Observed) -> bool:
        assert observed.sandbox is not None
        latest = observed.latest(c.name)
        attempt = latest.metadata.attempt + 1 if latest is not None \
            else self.last_attempt.get(c.name, -1) + 1
        key, now = (self.uid, c.name), self.ctx.clock.now()
        if latest is not None or c.name in self.start_errors:
            self.ctx.backoff.record_restart(key, now)
        rt = self.ctx.runtime
        try:
            cms, secrets = await self.ctx.fetch_sources(pod)
            sources = convert.Sources(
                {n: convert.config_map_data(o) for n, o in cms.items()},
                {n: convert.decode_secret(o) for n, o in secrets.items()})
            paths = await asyncio.to_thread(volumes.setup_volumes, pod,
                                            self.ctx.pod_dir(self.uid), sources,
                                            self.ctx.node_name)
            env = convert.plan_env(pod, c.spec, sources, node_name=self.ctx.node_name,
                                   pod_ip=observed.sandbox.network.ip, host_ip=self.ctx.host_ip)
            mounts = volumes.plan_mounts(pod, c.spec, paths)
            config = convert.plan_container_config(pod, c, attempt=attempt, env=env,
                                                   mounts=mounts)
            cid = await rt.create_container(observed.sandbox.id, config,
                                            self.sandbox_config(pod))
        except rterr.ImageNotFound as exc:
            self.ctx.event(pod, "Failed", f'Failed to pull image "{c.spec.get("image", "")}": '
                           f"{exc}", warning=True, container=c.name)
            return self._failed(pod, c, "ErrImagePull", str(exc))
        except (EnvError, VolumeError) as exc:
            return self._failed(pod, c, "CreateContainerConfigError", str(exc))
        except (rterr.RuntimeServiceError, NodeError, OSError) as exc:
            return self._failed(pod, c, "CreateContainerError", str(exc))
        # created: the image was in the store (berth does not pull yet), as kubelet says
        self.ctx.event(pod, "Pulled", f'Container image "{c.spec.get("image", "")}" already '
                       "present on machine", container=c.name)
        self.ctx.event(pod, "Created", f"Created container {c.name}", container=c.name)
        try:
            await rt.start_container(cid)
        except rterr.RuntimeServiceError as exc:
            return self._failed(pod, c, "RunContainerError", str(exc))
        self.ctx.event(pod, "Started", f"Started container {c.name}", container=c.name)
        self.start_errors.pop(c.name, None)
        await self.remove_old(observed.containers.get(c.name) or [])
        await self.post_start(pod, c, cid)
        return True

    def _failed(self, pod: Obj, c: podspec.ContainerSpec, reason: str, message: str) -> bool:
        log.warning("pod %s: container %s: %s: %s", podspec.pod_key(pod), c.name, reason,
                    message)
        first = c.name not in self.start_errors
        if first and self.ctx.backoff.delay((self.uid, c.name), self.ctx.clock.now()) == 0:
            self.ctx.backoff.record_restart((self.uid, c.name), self.ctx.clock.now())
        self.start_errors[c.name] = (reason, message)
        if reason != "ErrImagePull":
            self.ctx.event(pod, "Failed", f"Error: {message}", warning=True, container=c.name)
        return False

    async def remove_old(self, history: list[ContainerStatus]) -> None:
        for old in history[:max(0, len(history) + 1 - KEEP_DEAD)]:
            with contextlib.suppress(rterr.RuntimeServiceError):
                await self.ctx.runtime.remove_container(old.id)

    async def post_start(self, pod: Obj, c: podspec.ContainerSpec, cid: str) -> None:
        hook = ((c.spec.get("lifecycle") or {}).get("postStart") or {})
        if "exec" not in hook:
            return
        cmd = list(hook["exec"].get("command") or [])
        try:
            result = await self.ctx.runtime.exec_sync(cid, cmd, 30)
            ok = result.exit_code == 0
        except rterr.RuntimeServiceError:
            ok = False
        if not ok:
            log.warning("pod %s: container %s: postStart hook failed", podspec.pod_key(pod),
                        c.name)
            await self.ctx.runtime.stop_container(cid, float(podspec.grace_period(pod)))

    async def report(self, observed: Observed, actions: PodActions) -> None:
        status = plan_pod_status(self.pod, StatusInputs(
            observed=observed, actions=actions, now=self.ctx.clock.now(),
            host_ip=self.ctx.host_ip, start_errors=dict(self.start_errors),
            ready=dict(self.probes.ready), started=dict(self.probes.started),
            start_time=self.start_time, old_status=self.pod.get("status") or {}))
        self._tell_backoffs(status)
        await self.ctx.report_status(self.pod, status)

    def _tell_backoffs(self, status: Obj) -> None:
        """One BackOff event per restart a container waits for (CrashLoopBackOff)."""
        meta = podspec.meta(self.pod)
        for s in (status.get("containerStatuses") or []) + (
                status.get("initContainerStatuses") or []):
            waiting = (s.get("state") or {}).get("waiting") or {}
            count = int(s.get("restartCount") or 0)
            if waiting.get("reason") == "CrashLoopBackOff" \
                    and self._backoff_told.get(s["name"]) != count:
                self._backoff_told[s["name"]] = count
                self.ctx.event(self.pod, "BackOff", f"Back-off restarting failed container "
                               f"{s['name']} in pod {meta.get('name')}_{meta.get('namespace')}"
                               f"({self.uid})", warning=True, container=s["name"])

    def _probe_failed(self, name: str, kind: str, detail: str) -> None:
        what = {"livenessProbe": "Liveness", "readinessProbe": "Readiness",
                "startupProbe": "Startup"}.get(kind, kind)
        self.ctx.event(self.pod, "Unhealthy", f"{what} probe failed: {detail}".rstrip(": "),
                       warning=True, container=name)

    # -- terminating ---------------------------------------------------------------------
    async def stop_leftovers(self, pod: Obj, observed: Observed) -> None:
        """A finished pod: stop its sidecars (reverse order) and its sandbox."""
        self.probes.stop()
        await termination.stop_finished_pod(self.ctx, pod, observed)

    async def terminate(self) -> None:
        self.probes.stop()
        await termination.terminate_pod(self.ctx, self.pod, await self.observe(),
                                        confirm=self.in_api)


def _rotate_if_larger(path: Path, limit: int) -> bool:
    """Rename ``path`` to ``<path>.1`` if it is larger than ``limit`` bytes (blocking)."""
    try:
        if path.stat().st_size <= limit:
            return False
        path.replace(path.with_name(path.name + ".1"))
    except FileNotFoundError:
        return False
    return True
