"""``OCIRuntimeService``: the RuntimeService on OCI bundles run by runc (or crun).

A sandbox is a pinned network namespace (``/run/netns/berth-<node>-<uid>``,
handed to the ``SandboxNetwork`` hook right after it exists), per-pod
hosts/hostname/resolv.conf files, a /dev/shm tmpfs, and the pause process run
as a container that creates the pod's IPC, UTS and PID namespaces.  A
container is an overlayfs over its image's snapshot plus an OCI bundle whose
spec joins the sandbox's namespaces (``spec.plan_container_spec``); it is
created through ``berth-monitor``, which owns its output (CRI log file) and
records its exit status, so containers outlive this process.  Every step is
recorded in state files (``state.StateDir``); a new instance over the same
root lists the same sandboxes and containers.  Creation undoes its finished
steps when a later one fails, and stop/remove succeed on what is already gone.
Exec only checks and plans here; ``berth.host.oci`` starts the runtime's
``exec`` (on pipes, or on a terminal through ``berth.host.ttyexec``).

Concurrency: the methods run on the node agent's event loop and never make a
blocking system call there.  Runtime programs run as asyncio subprocesses
(``berth.host.oci``); everything else that touches the kernel or the disk
(state files, /proc, mounts, network namespaces, cgroups) is grouped into a
few synchronous steps per call, each run with ``asyncio.to_thread``.  Records
are changed only on the loop; a step gets a JSON snapshot to write.  The
constructor reads and writes files: on a loop, build the service with
``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from berth.host import cgroups, mounts, netns
from berth.host import oci as runtime
from berth.host.errors import HostError
from berth.host.helpers import ensure_helper
from berth.host.loopback import set_loopback_up
from berth.host.runtime_errors import RuntimeTimeout
from berth.images import Image, ImageStore
from berth.images import ImageNotFound as StoreImageNotFound
from berth.images.errors import ImageError
from berth.node.runtime import errors
from berth.node.runtime.protocol import (
    Container,
    ContainerConfig,
    ContainerFilter,
    ContainerState,
    ContainerStatus,
    ExecSyncResponse,
    PodSandbox,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxNetworkStatus,
    PodSandboxStatus,
    RuntimeCondition,
    RuntimeStatus,
    SandboxNetwork,
    SandboxState,
)
from berth.node.runtime.spec import (
    SandboxPaths,
    plan_container_spec,
    plan_process,
    plan_sandbox_spec,
    render_hosts,
    render_resolv_conf,
)
from berth.node.runtime.state import (
    ContainerRecord,
    SandboxRecord,
    StateDir,
    to_jsonable,
    write_json_atomic,
)
from berth.node.runtime.ttyexec import DEFAULT_SIZE, TtyProcess, plan_tty_env

SHM_SIZE = 64 << 20


class LoopbackOnly:
    """The default network: only ``lo``, brought up (enough for localhost between containers)."""

    async def setup(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                    ) -> PodSandboxNetworkStatus:
        await asyncio.to_thread(set_loopback_up, netns_path)
        return PodSandboxNetworkStatus()

    async def teardown(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                       ) -> None:
        return None

    async def status(self) -> str:
        return ""


def _parse_time(text: str) -> int:
    """RFC 3339 with nanoseconds (as the monitor writes it) -> ns since the epoch."""
    if not text:
        return 0
    base, _, frac = text.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(base + "+00:00").timestamp()
    return int(seconds) * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


def _matches(labels: dict[str, str], selector: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _signal_number(name: str) -> int:
    if not name:
        return int(signal.SIGTERM)
    if name.isdigit():
        return int(name)
    upper = name.upper()
    member = signal.Signals.__members__.get(upper if upper.startswith("SIG") else "SIG" + upper)
    return int(member if member is not None else signal.SIGTERM)


class OCIRuntimeService:
    """RuntimeService on runc/crun; state under ``root``, runtime state under ``run_root``."""

    def __init__(self, root: Path, run_root: Path, images: ImageStore, *, node_name: str,
                 runtime_name: str = "runc", network: SandboxNetwork | None = None,
                 cgroup_root: str = "/berth") -> None:
        self.state = StateDir(root)
        self.run_root = run_root
        self.images = images
        self.node_name = node_name
        self.network: SandboxNetwork = network or LoopbackOnly()
        self.cgroup_root = f"{cgroup_root.rstrip('/')}/{node_name}"
        self.rt = runtime.make_runtime(runtime_name, run_root / runtime_name)
        self.monitor = ensure_helper("berth-monitor", root / "bin")
        self._pause_rootfs = self._ensure_pause_rootfs(root)
        self._sandboxes = self.state.load_sandboxes()
        self._containers = self.state.load_containers()

    @staticmethod
    def _ensure_pause_rootfs(root: Path) -> Path:
        pause = ensure_helper("berth-pause", root / "bin")
        rootfs = root / "pause-rootfs"
        target = rootfs / "pause"
        if not target.exists() or target.stat().st_mtime < pause.stat().st_mtime:
            for sub in ("proc", "dev"):
                (rootfs / sub).mkdir(parents=True, exist_ok=True)
            shutil.copy2(pause, rootfs / ".pause.tmp")
            (rootfs / ".pause.tmp").replace(target)
        return rootfs

    # -- sandboxes ---------------------------------------------------------
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        meta = config.metadata
        for field_name in ("name", "namespace", "uid"):
            if not getattr(meta, field_name):
                raise errors.InvalidConfig(f"sandbox config: metadata.{field_name} is required")
        sandbox_id = secrets.token_hex(32)
        sdir = self.state.sandbox_dir(sandbox_id)
        netns_name = f"berth-{self.node_name}-{meta.uid.replace('-', '')[:12]}"
        parent = config.linux.cgroup_parent or f"{self.cgroup_root}/pod{meta.uid}"
        record = SandboxRecord(id=sandbox_id, config=config, created_at=time.time_ns(),
                               netns_name=netns_name, cgroup_parent=parent,
                               own_cgroup_parent=not config.linux.cgroup_parent)
        await asyncio.to_thread(_new_record_dir, sdir, self.state.sandbox_file(sandbox_id),
                                to_jsonable(record))
        self._sandboxes[sandbox_id] = record
        try:
            await self._setup_sandbox(record, sdir)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self.remove_pod_sandbox(sandbox_id)
            if isinstance(exc, errors.RuntimeServiceError):
                raise
            if isinstance(exc, HostError | OSError):
                raise errors.SandboxSetupError(f"pod {meta.namespace}/{meta.name}: {exc}") from exc
            raise
        return sandbox_id

    async def _setup_sandbox(self, record: SandboxRecord, sdir: Path) -> None:
        config = record.config
        if config.linux.host_network:  # the node's namespace: nothing to create or wire
            record.netns_name, record.netns_path = "", config.linux.host_netns_path
        else:
            await self._setup_network(record)
        hostname = config.hostname or config.metadata.name
        spec = plan_sandbox_spec(config, str(self._pause_rootfs), record.netns_path,
                                 f"{record.cgroup_parent}/{record.id}")
        await asyncio.to_thread(
            _write_sandbox_files, sdir, hostname,
            render_hosts(hostname, record.ip, config.host_aliases), config, spec)
        created = await runtime.create_monitored(
            self.rt, self.monitor, record.id, sdir / "bundle", log_path=None,
            exit_path=sdir / "exit.json", pid_path=sdir / "pause.pid")
        record.pause_pid, record.monitor_pid = created.pid, created.monitor_pid
        record.pause_start_time = await asyncio.to_thread(runtime.process_start_time,
                                                          created.pid)
        await self._save_sandbox(record)
        await runtime.start(self.rt, record.id)
        record.ready = True
        await self._save_sandbox(record)

    async def _setup_network(self, record: SandboxRecord) -> None:
        config = record.config
        record.netns_path = await asyncio.to_thread(_create_netns, record.netns_name,
                                                    config.metadata.uid)
        await self._save_sandbox(record)
        net = await self.network.setup(record.id, record.netns_path, config)
        record.ip, record.additional_ips = net.ip, list(net.additional_ips)
        record.network_ready = True
        await self._save_sandbox(record)

    async def _save_sandbox(self, record: SandboxRecord) -> None:
        await asyncio.to_thread(write_json_atomic, self.state.sandbox_file(record.id),
                                to_jsonable(record))

    async def _save_container(self, record: ContainerRecord) -> None:
        await asyncio.to_thread(write_json_atomic, self.state.container_file(record.id),
                                to_jsonable(record))

    def _sandbox(self, sandbox_id: str) -> SandboxRecord:
        try:
            return self._sandboxes[sandbox_id]
        except KeyError:
            raise errors.NotFound(f"pod sandbox {sandbox_id!r} not found") from None

    @staticmethod
    def _pause_alive(record: SandboxRecord) -> bool:
        """Blocking (/proc): call through ``asyncio.to_thread``."""
        return bool(record.pause_pid) and runtime.process_start_time(
            record.pause_pid) == record.pause_start_time

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        """Kill every container and the pause process, tear down the network (idempotent)."""
        record = self._sandbox(sandbox_id)
        for container in [c for c in self._containers.values() if c.sandbox_id == sandbox_id]:
            await self.stop_container(container.id, 0)
        if record.pause_pid:
            with contextlib.suppress(HostError):
                await runtime.kill(self.rt, record.id, int(signal.SIGKILL))
            await self._wait_gone(record.pause_pid, record.pause_start_time, 5.0)
        await runtime.delete(self.rt, record.id)
        if record.network_ready:
            await self.network.teardown(record.id, record.netns_path, record.config)
            record.network_ready = False
        record.ready = False
        await asyncio.to_thread(
            _release_sandbox, record.netns_name, self.state.sandbox_dir(sandbox_id) / "shm",
            self.state.sandbox_file(sandbox_id), to_jsonable(record))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        """Remove the sandbox, its containers, state and cgroups; unknown ids are fine."""
        if sandbox_id not in self._sandboxes:
            return
        await self.stop_pod_sandbox(sandbox_id)
        record = self._sandboxes[sandbox_id]
        for container in [c for c in self._containers.values() if c.sandbox_id == sandbox_id]:
            await self.remove_container(container.id)
        await asyncio.to_thread(
            _remove_sandbox_files, record.cgroup_parent if record.own_cgroup_parent else "",
            self.state.sandbox_dir(sandbox_id))
        self._sandboxes.pop(sandbox_id, None)

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        record = self._sandbox(sandbox_id)
        state = await asyncio.to_thread(self._sandbox_state, record)
        return PodSandboxStatus(
            id=record.id, metadata=record.config.metadata, state=state,
            created_at=record.created_at,
            network=PodSandboxNetworkStatus(ip=record.ip, additional_ips=record.additional_ips),
            netns_path=record.netns_path, pid=record.pause_pid,
            labels=dict(record.config.labels), annotations=dict(record.config.annotations),
            share_process_namespace=record.config.linux.share_process_namespace)

    def _sandbox_state(self, record: SandboxRecord) -> SandboxState:
        """Blocking (/proc): call through ``asyncio.to_thread``."""
        ready = record.ready and self._pause_alive(record)
        return SandboxState.READY if ready else SandboxState.NOTREADY

    def _sandbox_states(self, records: list[SandboxRecord]) -> list[SandboxState]:
        return [self._sandbox_state(r) for r in records]

    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None
                               ) -> list[PodSandbox]:
        wanted = filter or PodSandboxFilter()
        # cheap in-memory filters first: the state costs a /proc read per sandbox, and
        # every pod worker lists its own sandboxes each tick
        matches = [r for r in sorted(self._sandboxes.values(), key=lambda r: r.created_at)
                   if (not wanted.id or r.id.startswith(wanted.id))
                   and _matches(r.config.labels, wanted.label_selector)]
        states = await asyncio.to_thread(self._sandbox_states, matches) if matches else []
        found = []
        for record, state in zip(matches, states, strict=True):
            if wanted.state is not None and state != wanted.state:
                continue
            found.append(PodSandbox(id=record.id, metadata=record.config.metadata, state=state,
                                    created_at=record.created_at,
                                    labels=dict(record.config.labels),
                                    annotations=dict(record.config.annotations)))
        return found

    # -- containers --------------------------------------------------------
    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str:
        sandbox = self._sandbox(sandbox_id)
        what = f"container {config.metadata.name!r}"
        if not config.metadata.name:
            raise errors.InvalidConfig("container config: metadata.name is required")
        if await asyncio.to_thread(self._sandbox_state, sandbox) != SandboxState.READY:
            raise errors.SandboxNotReady(f"{what}: pod sandbox {sandbox_id[:12]} is not ready")
        try:
            image = await asyncio.to_thread(self.images.get, config.image)
        except StoreImageNotFound as exc:
            raise errors.ImageNotFound(f"{what}: {exc}") from exc
        except ImageError as exc:
            raise errors.InvalidConfig(f"{what}: image: {exc}") from exc
        container_id = secrets.token_hex(32)
        cdir = self.state.container_dir(container_id)
        log_dir = sandbox_config.log_directory or sandbox.config.log_directory
        log_path = (Path(log_dir) / config.log_path if log_dir and config.log_path
                    else cdir / "container.log")
        record = ContainerRecord(
            id=container_id, sandbox_id=sandbox_id, config=config, image_id=image.id,
            image_name=image.names[0] if image.names else image.id, created_at=time.time_ns(),
            log_path=str(log_path), cgroups_path=f"{sandbox.cgroup_parent}/{container_id}",
            stop_signal=image.config.stop_signal)
        await asyncio.to_thread(_new_record_dir, cdir, self.state.container_file(container_id),
                                to_jsonable(record))
        self._containers[container_id] = record
        try:
            snapshot, passwd, group = await asyncio.to_thread(self._snapshot_and_users, image)
            process = plan_process(
                image.config, config, sandbox.config.hostname or sandbox.config.metadata.name,
                passwd=passwd, group=group)
            rootfs = cdir / "rootfs"
            sdir = self.state.sandbox_dir(sandbox_id)
            paths = SandboxPaths(
                pause_pid=sandbox.pause_pid, netns_path=sandbox.netns_path,
                hosts=str(sdir / "hosts"), hostname=str(sdir / "hostname"),
                resolv_conf=str(sdir / "resolv.conf"), shm=str(sdir / "shm"),
                share_pid=sandbox.config.linux.share_process_namespace)
            spec = plan_container_spec(config, process, str(rootfs), paths, record.cgroups_path)
            oom_path = await asyncio.to_thread(_write_container_files, cdir, snapshot, spec,
                                               log_path, record.cgroups_path)
            created = await runtime.create_monitored(
                self.rt, self.monitor, container_id, cdir / "bundle", log_path=log_path,
                exit_path=cdir / "exit.json", pid_path=cdir / "init.pid", oom_path=oom_path)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self.remove_container(container_id)
            if isinstance(exc, errors.RuntimeServiceError):
                raise
            if isinstance(exc, HostError | OSError | ImageError):
                raise errors.CreateContainerError(f"{what}: {exc}") from exc
            raise
        record.pid, record.monitor_pid = created.pid, created.monitor_pid
        record.pid_start_time, record.monitor_start_time = await asyncio.to_thread(
            _start_times, created.pid, created.monitor_pid)
        await self._save_container(record)
        return container_id

    def _snapshot_and_users(self, image: Image) -> tuple[Path, str, str]:
        """The image's unpacked rootfs and its /etc/passwd and /etc/group (blocking)."""
        snapshot = self.images.ensure_snapshot(image)
        etc = snapshot / "etc"
        return snapshot, _read_text(etc / "passwd"), _read_text(etc / "group")

    def _container(self, container_id: str) -> ContainerRecord:
        try:
            return self._containers[container_id]
        except KeyError:
            raise errors.NotFound(f"container {container_id!r} not found") from None

    async def start_container(self, container_id: str) -> None:
        record = self._container(container_id)
        started_at = time.time_ns()  # before: a short-lived process may end before start returns
        try:
            await runtime.start(self.rt, container_id)
        except HostError as exc:
            record.start_error = str(exc)
            await self._save_container(record)
            raise errors.RunContainerError(
                f"container {record.config.metadata.name!r}: {exc}") from exc
        record.started_at = started_at
        await self._save_container(record)

    @staticmethod
    def _init_alive(record: ContainerRecord) -> bool:
        """Blocking (/proc): call through ``asyncio.to_thread``."""
        return bool(record.pid) and runtime.process_start_time(
            record.pid) == record.pid_start_time

    def _container_state(self, record: ContainerRecord) -> ContainerState:
        """Blocking (exit file, /proc): call through ``asyncio.to_thread``."""
        if self.state.read_exit(record.id) is not None:
            return ContainerState.EXITED
        if not record.pid:
            return ContainerState.UNKNOWN
        if self._init_alive(record):
            return ContainerState.RUNNING if record.started_at else ContainerState.CREATED
        return ContainerState.UNKNOWN

    async def _wait_gone(self, pid: int, start_time: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while start_time and await asyncio.to_thread(
                runtime.process_start_time, pid) == start_time:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def _wait_exit_file(self, record: ContainerRecord, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not await asyncio.to_thread(
                self._exit_known, record):
            await asyncio.sleep(0.02)

    def _exit_known(self, record: ContainerRecord) -> bool:
        """The exit file is there, or the monitor is gone and none will come (blocking)."""
        if self.state.read_exit(record.id) is not None:
            return True
        return bool(record.monitor_pid) and runtime.process_start_time(
            record.monitor_pid) != record.monitor_start_time

    async def stop_container(self, container_id: str, timeout: float) -> None:
        """Stop signal (the image's StopSignal or SIGTERM), SIGKILL after ``timeout`` s."""
        record = self._container(container_id)
        if not await asyncio.to_thread(self._init_alive, record):
            await self._wait_exit_file(record, 1.0)
            return
        if timeout > 0:
            with contextlib.suppress(HostError):
                await runtime.kill(self.rt, container_id, _signal_number(record.stop_signal))
            if await self._wait_gone(record.pid, record.pid_start_time, timeout):
                await self._wait_exit_file(record, 2.0)
                return
        with contextlib.suppress(HostError):
            await runtime.kill(self.rt, container_id, int(signal.SIGKILL), all_processes=True)
        await self._wait_gone(record.pid, record.pid_start_time, 10.0)
        await self._wait_exit_file(record, 2.0)

    async def remove_container(self, container_id: str) -> None:
        """Kill if needed, delete from the runtime, unmount, remove state (idempotent)."""
        record = self._containers.get(container_id)
        if record is None:
            return
        if await asyncio.to_thread(self._init_alive, record):
            await self.stop_container(container_id, 0)
        await runtime.delete(self.rt, container_id)
        await asyncio.to_thread(_remove_container_files, self.state.container_dir(container_id))
        self._containers.pop(container_id, None)

    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]:
        wanted = filter or ContainerFilter()
        matches = [r for r in sorted(self._containers.values(), key=lambda r: r.created_at)
                   if (not wanted.id or r.id.startswith(wanted.id))
                   and (not wanted.pod_sandbox_id
                        or r.sandbox_id.startswith(wanted.pod_sandbox_id))
                   and _matches(r.config.labels, wanted.label_selector)]
        # exit file + /proc: only for matches, all in one step off the loop
        states = await asyncio.to_thread(self._container_states, matches) if matches else []
        found = []
        for record, state in zip(matches, states, strict=True):
            if wanted.state is not None and state != wanted.state:
                continue
            found.append(Container(
                id=record.id, pod_sandbox_id=record.sandbox_id, metadata=record.config.metadata,
                image=record.image_name, image_ref=record.image_id, state=state,
                created_at=record.created_at, labels=dict(record.config.labels),
                annotations=dict(record.config.annotations)))
        return found

    def _container_states(self, records: list[ContainerRecord]) -> list[ContainerState]:
        return [self._container_state(r) for r in records]

    def _state_and_exit(self, record: ContainerRecord
                        ) -> tuple[ContainerState, dict[str, Any]]:
        return self._container_state(record), self.state.read_exit(record.id) or {}

    async def container_status(self, container_id: str) -> ContainerStatus:
        record = self._container(container_id)
        state, exit_info = await asyncio.to_thread(self._state_and_exit, record)
        exit_code, reason, message, finished = 0, "", "", 0
        if state == ContainerState.EXITED:
            exit_code = int(exit_info.get("exitCode", 255))
            finished = _parse_time(str(exit_info.get("finishedAt", "")))
            if exit_info.get("oomKilled"):
                reason = "OOMKilled"
            else:
                reason = "Completed" if exit_code == 0 else "Error"
        elif state == ContainerState.UNKNOWN:
            reason, message = "Unknown", "the container's process and monitor are gone"
        if record.start_error:
            message = record.start_error
        return ContainerStatus(
            id=record.id, metadata=record.config.metadata, state=state,
            created_at=record.created_at, started_at=record.started_at, finished_at=finished,
            exit_code=exit_code, image=record.image_name, image_ref=record.image_id,
            reason=reason, message=message, labels=dict(record.config.labels),
            annotations=dict(record.config.annotations), mounts=list(record.config.mounts),
            log_path=record.log_path,
            pid=record.pid if state == ContainerState.RUNNING else 0)

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0
                        ) -> ExecSyncResponse:
        """Run ``cmd`` in the running container; ``timeout`` 0 waits forever."""
        await self._check_exec(container_id, cmd)
        record = self._container(container_id)
        try:
            result = await runtime.exec_sync(self.rt, container_id, cmd,
                                             timeout=timeout or None)
        except RuntimeTimeout as exc:
            raise errors.ExecTimeout(
                f"exec {cmd[0]!r} in {record.config.metadata.name!r}: "
                f"timed out after {timeout} s") from exc
        except HostError as exc:
            raise errors.RunContainerError(f"exec in {record.config.metadata.name!r}: {exc}"
                                           ) from exc
        return ExecSyncResponse(result.exit_code, result.stdout, result.stderr)

    async def status(self) -> RuntimeStatus:
        """CRI Status: the runtime binary is there, and the network can set up sandboxes."""
        binary = await asyncio.to_thread(shutil.which, self.rt.name)
        network = await self.network.status()
        return RuntimeStatus((
            RuntimeCondition("RuntimeReady", binary is not None,
                             "" if binary else "RuntimeNotReady",
                             "" if binary else f"{self.rt.name} is not on PATH"),
            RuntimeCondition("NetworkReady", not network,
                             "NetworkPluginNotReady" if network else "", network)))

    async def reopen_container_log(self, container_id: str) -> None:
        """Ask the container's monitor to reopen its log file (after rotation)."""
        record = self._container(container_id)
        if await asyncio.to_thread(runtime.process_start_time,
                                   record.monitor_pid) != record.monitor_start_time:
            raise errors.NotFound(f"container {container_id[:12]} is not running")
        runtime.signal_process(record.monitor_pid, int(signal.SIGUSR1))

    async def _check_exec(self, container_id: str, cmd: list[str]) -> None:
        record = self._container(container_id)
        if await asyncio.to_thread(self._container_state, record) != ContainerState.RUNNING:
            raise errors.NotFound(f"container {record.config.metadata.name!r} is not running")
        if not cmd:
            raise errors.InvalidConfig("exec: cmd must not be empty")

    async def exec_stream(self, container_id: str, cmd: list[str]
                          ) -> asyncio.subprocess.Process:
        """Start ``cmd`` in the running container with stdin/stdout/stderr pipes (no tty).

        The streaming Exec of the node endpoint: the caller pumps the pipes and
        waits for the process; its exit status is the command's.
        """
        await self._check_exec(container_id, cmd)
        return await runtime.exec_stream(self.rt, container_id, cmd)

    async def exec_tty(self, container_id: str, cmd: list[str],
                       size: tuple[int, int] = DEFAULT_SIZE) -> TtyProcess:
        """Start ``cmd`` in the running container on a terminal (``berth.host.ttyexec``).

        ``size`` is (width, height); ``TERM=xterm`` as containerd sets it for a tty.
        """
        await self._check_exec(container_id, cmd)
        env = plan_tty_env(await asyncio.to_thread(self._process_env, container_id))
        return await runtime.exec_tty(self.rt, container_id, cmd, env=env, size=size)

    def _process_env(self, container_id: str) -> list[str]:
        """The environment in the container's bundle, empty if it cannot be read (blocking)."""
        bundle = self.state.container_dir(container_id) / "bundle" / "config.json"
        try:
            return [str(e) for e in json.loads(bundle.read_text())["process"].get("env", [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return []

    def image_ids_in_use(self) -> frozenset[str]:
        return frozenset(r.image_id for r in self._containers.values())


# -- blocking steps: each runs off the event loop, in one asyncio.to_thread call -------------
def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        return ""


def _new_record_dir(directory: Path, record_file: Path, record: object) -> None:
    """Make a sandbox's or container's state directory and write its first record."""
    directory.mkdir(parents=True)
    write_json_atomic(record_file, record)


def _create_netns(name: str, pod_uid: str) -> str:
    if netns.exists(name):
        raise errors.SandboxSetupError(
            f"network namespace {name} exists: pod uid {pod_uid} "
            "already has a sandbox; stop it first")
    return netns.create_netns(name)


def _write_sandbox_files(sdir: Path, hostname: str, hosts: str, config: PodSandboxConfig,
                         spec: object) -> None:
    """hostname, hosts, resolv.conf, the /dev/shm tmpfs and the pause bundle."""
    (sdir / "hostname").write_text(hostname + "\n")
    (sdir / "hosts").write_text(hosts)
    host_resolv = Path("/etc/resolv.conf")
    (sdir / "resolv.conf").write_text(render_resolv_conf(
        config.dns_config, host_resolv.read_text() if host_resolv.exists() else ""))
    mounts.mount_tmpfs(sdir / "shm", size_bytes=SHM_SIZE, mode=0o1777)
    bundle = sdir / "bundle"
    bundle.mkdir()
    write_json_atomic(bundle / "config.json", spec)


def _release_sandbox(netns_name: str, shm: Path, record_file: Path, record: object) -> None:
    """Delete the pod's netns (if it has its own), unmount /dev/shm, write the record."""
    if netns_name:
        netns.delete_netns(netns_name)
    mounts.unmount_all(shm)
    write_json_atomic(record_file, record)


def _remove_sandbox_files(own_cgroup_parent: str, sdir: Path) -> None:
    if own_cgroup_parent:
        with contextlib.suppress(HostError):
            cgroups.teardown_cgroup_tree(own_cgroup_parent)
    shutil.rmtree(sdir, ignore_errors=True)


def _write_container_files(cdir: Path, snapshot: Path, spec: object, log_path: Path,
                           cgroups_path: str) -> Path:
    """The overlay rootfs, the bundle and the log directory of a new container.

    Returns the file the monitor reads the container's OOM kills from.
    """
    mounts.mount_overlay(cdir / "rootfs", [snapshot], cdir / "upper", cdir / "work")
    (cdir / "bundle").mkdir()
    write_json_atomic(cdir / "bundle" / "config.json", spec)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return cgroups.oom_counter_file(cgroups_path)


def _start_times(*pids: int) -> tuple[int, ...]:
    return tuple(runtime.process_start_time(pid) for pid in pids)


def _remove_container_files(cdir: Path) -> None:
    mounts.unmount_all(cdir / "rootfs")
    shutil.rmtree(cdir, ignore_errors=True)
