"""A `RuntimeService` in memory: sandboxes and containers whose processes are scripted.

`FakeRuntimeService` keeps CRI's objects in dicts and answers every call
of the protocol with the same states, reasons, exit codes and errors as
`OCIRuntimeService` (tests/contract/runtime holds both to that). What a
container does is a `programs.Program`: read from its command line
(``sh -c "exit 3"`` exits 3 at once, ``sleep 5`` runs 5 s and ignores
SIGTERM, a ``trap 'exit 0' TERM`` stops cleanly) or set per container name
with ``program(name, Program(...))``. Time is the injected clock's, and the
only waits are ``asyncio.sleep`` (a stop that outlasts SIGTERM, an exec that
runs into its timeout), so on `berth.testing.looptime`'s loop a test runs
minutes of pod life in milliseconds.

Test controls besides programs: ``fail(method, error, container=...)``
makes the next call(s) fail, ``exit(cid, code)``, ``oom_kill(cid)``,
``lose(cid)`` (process and monitor gone: UNKNOWN), ``kill_sandbox(sid)``
(the pause process died), ``on_exec`` (answer execs and probes), and
``calls`` records every mutating call in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from berth.images import ImageNotFound as StoreImageNotFound
from berth.images.errors import ImageError
from berth.images.service import ImageService
from berth.node.clock import Clock, SystemClock
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
    RuntimeService,
    RuntimeStatus,
    SandboxNetwork,
    SandboxState,
)
from berth.testing.fakes.images import FakeImageStore
from berth.testing.fakes.programs import BUSYBOX_APPLETS, Program, interpret

SIGKILL_EXIT = 137
START_FAILED_EXIT = 128  # what containerd reports for a process that could not be started
ExecAnswer = int | ExecSyncResponse | None


class FakeSandboxNetwork:
    """A `SandboxNetwork` handing out 10.88.0.x addresses, recording setups and teardowns."""

    def __init__(self, prefix: str = "10.88.0.") -> None:
        self.prefix = prefix
        self._next = itertools.count(2)
        self.calls: list[tuple[str, str]] = []
        self.not_ready = ""  # set it to make the network not ready (CNI STATUS failing)

    async def setup(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                    ) -> PodSandboxNetworkStatus:
        self.calls.append(("setup", sandbox_id))
        return PodSandboxNetworkStatus(ip=f"{self.prefix}{next(self._next)}")

    async def teardown(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                       ) -> None:
        self.calls.append(("teardown", sandbox_id))

    async def status(self) -> str:
        return self.not_ready


@dataclass
class _Sandbox:
    id: str
    config: PodSandboxConfig
    created_at: int
    seq: int
    netns_path: str
    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)
    ready: bool = True
    network_ready: bool = False
    pid: int = 0


@dataclass
class _Container:
    id: str
    sandbox_id: str
    config: ContainerConfig
    image_id: str
    image_name: str
    program: Program
    created_at: int
    seq: int
    log_path: str
    started: float | None = None  # clock seconds
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    exited: bool = False
    lost: bool = False
    start_error: str = ""
    pid: int = 0


@dataclass
class _Fault:
    method: str
    error: errors.RuntimeServiceError
    container: str  # a container name, "" for any
    times: int


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


def _matches(labels: dict[str, str], selector: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _fake_id(kind: str, n: int) -> str:
    return hashlib.sha256(f"berth-fake-{kind}-{n}".encode()).hexdigest()


class FakeRuntimeService:
    """The RuntimeService of tests: no processes, no root, time from ``clock``."""

    def __init__(self, *, images: ImageService | None = None, clock: Clock | None = None,
                 network: SandboxNetwork | None = None, node_name: str = "fake") -> None:
        self.images: ImageService = images if images is not None else FakeImageStore()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.network = network
        self.node_name = node_name
        self.sandboxes: dict[str, _Sandbox] = {}
        self.containers: dict[str, _Container] = {}
        self.programs: dict[str, Program] = {}
        self.on_exec: Callable[[str, list[str]], ExecAnswer] | None = None
        self.calls: list[tuple[str, str]] = []  # (method, container or pod name)
        self.stops: list[tuple[str, float]] = []  # (container name, timeout) of each stop
        self.execs: list[tuple[str, list[str]]] = []  # (container name, cmd)
        self.start_times: list[tuple[str, float]] = []  # (container name, clock seconds)
        self._faults: list[_Fault] = []
        self._seq = itertools.count(1)

    # -- test controls -----------------------------------------------------------------
    def program(self, name: str, program: Program) -> None:
        """Containers called ``name`` run ``program`` instead of their command line."""
        self.programs[name] = program

    def fail(self, method: str, error: errors.RuntimeServiceError, *, container: str = "",
             times: int = 1) -> None:
        """The next ``times`` calls of ``method`` (for ``container``, if given) raise ``error``."""
        self._faults.append(_Fault(method, error, container, times))

    def exit(self, container_id: str, code: int, reason: str = "") -> None:
        """The container's process ends now with ``code``."""
        record = self._container(container_id)
        self._settle(record)
        if not record.exited and record.started is not None:
            self._finish(record, code, reason)

    def oom_kill(self, container_id: str) -> None:
        self.exit(container_id, SIGKILL_EXIT, "OOMKilled")

    def lose(self, container_id: str) -> None:
        """The process and its monitor are gone without an exit status (state UNKNOWN)."""
        record = self._container(container_id)
        record.lost, record.pid = True, 0

    def kill_sandbox(self, sandbox_id: str) -> None:
        """The sandbox's pause process died: the sandbox is NOTREADY from now on."""
        self._sandbox(sandbox_id).ready = False

    def by_name(self, name: str) -> list[str]:
        """Ids of the containers called ``name``, oldest first."""
        return [c.id for c in sorted(self.containers.values(), key=lambda c: c.seq)
                if c.config.metadata.name == name]

    def started_names(self) -> list[str]:
        """Container names in the order they were started."""
        return [name for method, name in self.calls if method == "start_container"]

    # -- internals ---------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.now()

    def _take_fault(self, method: str, name: str = "") -> None:
        for fault in self._faults:
            if fault.method == method and fault.container in ("", name) and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                raise fault.error

    def _sandbox(self, sandbox_id: str) -> _Sandbox:
        try:
            return self.sandboxes[sandbox_id]
        except KeyError:
            raise errors.NotFound(f"pod sandbox {sandbox_id!r} not found") from None

    def _container(self, container_id: str) -> _Container:
        try:
            return self.containers[container_id]
        except KeyError:
            raise errors.NotFound(f"container {container_id!r} not found") from None

    def _finish(self, record: _Container, code: int, reason: str = "",
                at: float | None = None) -> None:
        record.exited, record.exit_code, record.pid = True, code, 0
        record.finished_at = _ns(self._now() if at is None else at)
        record.reason = reason or ("Completed" if code == 0 else "Error")

    def _settle(self, record: _Container) -> None:
        """A running program whose time is up has exited (at the time it was up)."""
        runs_for = record.program.runs_for
        if record.exited or record.started is None or runs_for is None:
            return
        if self._now() >= record.started + runs_for:
            self._finish(record, record.program.exit_code, at=record.started + runs_for)

    def _state(self, record: _Container) -> ContainerState:
        self._settle(record)
        if record.exited:
            return ContainerState.EXITED
        if record.lost:
            return ContainerState.UNKNOWN
        return ContainerState.RUNNING if record.started is not None else ContainerState.CREATED

    # -- sandboxes ---------------------------------------------------------------------
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        meta = config.metadata
        for field_name in ("name", "namespace", "uid"):
            if not getattr(meta, field_name):
                raise errors.InvalidConfig(f"sandbox config: metadata.{field_name} is required")
        self._take_fault("run_pod_sandbox", meta.name)
        netns_name = f"berth-{self.node_name}-{meta.uid.replace('-', '')[:12]}"
        if not config.linux.host_network and any(
                s.netns_path == f"/run/netns/{netns_name}" and s.network_ready
                for s in self.sandboxes.values()):
            raise errors.SandboxSetupError(
                f"network namespace {netns_name} exists: pod uid {meta.uid} "
                "already has a sandbox; stop it first")
        seq = next(self._seq)
        sandbox = _Sandbox(
            id=_fake_id("sandbox", seq), config=config, created_at=_ns(self._now()), seq=seq,
            netns_path=config.linux.host_netns_path if config.linux.host_network
            else f"/run/netns/{netns_name}", pid=20000 + seq)
        if not config.linux.host_network:
            sandbox.network_ready = True
            if self.network is not None:
                try:
                    net = await self.network.setup(sandbox.id, sandbox.netns_path, config)
                except Exception as exc:
                    raise errors.SandboxSetupError(
                        f"pod {meta.namespace}/{meta.name}: {exc}") from exc
                sandbox.ip, sandbox.additional_ips = net.ip, list(net.additional_ips)
        self.sandboxes[sandbox.id] = sandbox
        self.calls.append(("run_pod_sandbox", meta.name))
        return sandbox.id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        sandbox = self._sandbox(sandbox_id)
        for record in [c for c in self.containers.values() if c.sandbox_id == sandbox_id]:
            await self.stop_container(record.id, 0)
        if sandbox.network_ready and self.network is not None:
            await self.network.teardown(sandbox.id, sandbox.netns_path, sandbox.config)
        sandbox.network_ready = False
        sandbox.ready = False
        self.calls.append(("stop_pod_sandbox", sandbox.config.metadata.name))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        if sandbox_id not in self.sandboxes:
            return
        await self.stop_pod_sandbox(sandbox_id)
        for record in [c for c in self.containers.values() if c.sandbox_id == sandbox_id]:
            await self.remove_container(record.id)
        sandbox = self.sandboxes.pop(sandbox_id)
        self.calls.append(("remove_pod_sandbox", sandbox.config.metadata.name))

    def _sandbox_state(self, sandbox: _Sandbox) -> SandboxState:
        return SandboxState.READY if sandbox.ready else SandboxState.NOTREADY

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        s = self._sandbox(sandbox_id)
        return PodSandboxStatus(
            id=s.id, metadata=s.config.metadata, state=self._sandbox_state(s),
            created_at=s.created_at,
            network=PodSandboxNetworkStatus(ip=s.ip, additional_ips=list(s.additional_ips)),
            netns_path=s.netns_path, pid=s.pid if s.ready else 0,
            labels=dict(s.config.labels), annotations=dict(s.config.annotations),
            share_process_namespace=s.config.linux.share_process_namespace)

    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None
                               ) -> list[PodSandbox]:
        wanted = filter or PodSandboxFilter()
        found = []
        for s in sorted(self.sandboxes.values(), key=lambda s: s.seq):
            state = self._sandbox_state(s)
            if wanted.id and not s.id.startswith(wanted.id):
                continue
            if not _matches(s.config.labels, wanted.label_selector):
                continue
            if wanted.state is not None and state != wanted.state:
                continue
            found.append(PodSandbox(id=s.id, metadata=s.config.metadata, state=state,
                                    created_at=s.created_at, labels=dict(s.config.labels),
                                    annotations=dict(s.config.annotations)))
        return found

    # -- containers --------------------------------------------------------------------
    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str:
        sandbox = self._sandbox(sandbox_id)
        name = config.metadata.name
        what = f"container {name!r}"
        if not name:
            raise errors.InvalidConfig("container config: metadata.name is required")
        if not sandbox.ready:
            raise errors.SandboxNotReady(f"{what}: pod sandbox {sandbox_id[:12]} is not ready")
        try:
            image = self.images.get(config.image)
        except StoreImageNotFound as exc:
            raise errors.ImageNotFound(f"{what}: {exc}") from exc
        except ImageError as exc:
            raise errors.InvalidConfig(f"{what}: image: {exc}") from exc
        self._take_fault("create_container", name)
        argv = (list(config.command) or list(image.config.entrypoint)) + (
            list(config.args) if config.command or config.args else list(image.config.cmd))
        if argv and "busybox" in " ".join(image.names) and \
                argv[0].rsplit("/", 1)[-1] not in BUSYBOX_APPLETS:
            raise errors.CreateContainerError(
                f'{what}: exec: "{argv[0]}": executable file not found in $PATH')
        seq = next(self._seq)
        log_dir = sandbox_config.log_directory or sandbox.config.log_directory
        container_id = _fake_id("container", seq)
        log_path = (Path(log_dir) / config.log_path if log_dir and config.log_path
                    else Path(f"/nonexistent/berth-fake/{container_id}/container.log"))
        record = _Container(
            id=container_id, sandbox_id=sandbox_id, config=config, image_id=image.id,
            image_name=image.names[0] if image.names else image.id,
            program=self.programs.get(name) or interpret(argv),
            created_at=_ns(self._now()), seq=seq, log_path=str(log_path))
        self.containers[container_id] = record
        self.calls.append(("create_container", name))
        return container_id

    async def start_container(self, container_id: str) -> None:
        record = self._container(container_id)
        name = record.config.metadata.name
        try:
            self._take_fault("start_container", name)
        except errors.RuntimeServiceError as exc:
            # the process never ran: it is gone, with the start error as its message
            record.start_error = str(exc)
            record.started = self._now()
            self._finish(record, START_FAILED_EXIT)
            raise errors.RunContainerError(f"container {name!r}: {exc}") from exc
        if record.started is not None:
            return
        record.started = self._now()
        record.started_at = _ns(record.started)
        record.pid = 30000 + record.seq
        self.calls.append(("start_container", name))
        self.start_times.append((name, record.started))

    async def stop_container(self, container_id: str, timeout: float) -> None:
        """SIGTERM (answered by the program's handler, if any), SIGKILL after ``timeout``."""
        record = self._container(container_id)
        if self._state(record) != ContainerState.RUNNING:
            return
        self.stops.append((record.config.metadata.name, timeout))
        program = record.program
        if timeout > 0 and program.on_term is not None:
            self._finish(record, program.on_term)
            return
        if timeout > 0:
            assert record.started is not None
            left = (record.started + program.runs_for - self._now()
                    if program.runs_for is not None else timeout)
            await asyncio.sleep(max(0.0, min(timeout, left)))
            if self._state(record) != ContainerState.RUNNING:
                return
        self._finish(record, SIGKILL_EXIT)

    async def remove_container(self, container_id: str) -> None:
        record = self.containers.get(container_id)
        if record is None:
            return
        if self._state(record) == ContainerState.RUNNING:
            await self.stop_container(container_id, 0)
        del self.containers[container_id]
        self.calls.append(("remove_container", record.config.metadata.name))

    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]:
        wanted = filter or ContainerFilter()
        found = []
        for c in sorted(self.containers.values(), key=lambda c: c.seq):
            if wanted.id and not c.id.startswith(wanted.id):
                continue
            if wanted.pod_sandbox_id and not c.sandbox_id.startswith(wanted.pod_sandbox_id):
                continue
            if not _matches(c.config.labels, wanted.label_selector):
                continue
            state = self._state(c)
            if wanted.state is not None and state != wanted.state:
                continue
            found.append(Container(
                id=c.id, pod_sandbox_id=c.sandbox_id, metadata=c.config.metadata,
                image=c.image_name, image_ref=c.image_id, state=state,
                created_at=c.created_at, labels=dict(c.config.labels),
                annotations=dict(c.config.annotations)))
        return found

    async def container_status(self, container_id: str) -> ContainerStatus:
        c = self._container(container_id)
        state = self._state(c)
        exit_code, reason, message, finished = 0, "", "", 0
        if state == ContainerState.EXITED:
            exit_code, reason, finished = c.exit_code, c.reason, c.finished_at
        elif state == ContainerState.UNKNOWN:
            reason, message = "Unknown", "the container's process and monitor are gone"
        if c.start_error:
            message = c.start_error
        return ContainerStatus(
            id=c.id, metadata=c.config.metadata, state=state, created_at=c.created_at,
            started_at=c.started_at, finished_at=finished, exit_code=exit_code,
            image=c.image_name, image_ref=c.image_id, reason=reason, message=message,
            labels=dict(c.config.labels), annotations=dict(c.config.annotations),
            mounts=list(c.config.mounts), log_path=c.log_path,
            pid=c.pid if state == ContainerState.RUNNING else 0)

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0
                        ) -> ExecSyncResponse:
        record = self._container(container_id)
        name = record.config.metadata.name
        if self._state(record) != ContainerState.RUNNING:
            raise errors.NotFound(f"container {name!r} is not running")
        if not cmd:
            raise errors.InvalidConfig("exec: cmd must not be empty")
        self.execs.append((name, list(cmd)))
        self._take_fault("exec_sync", name)
        answer = self.on_exec(name, list(cmd)) if self.on_exec is not None else None
        if isinstance(answer, ExecSyncResponse):
            return answer
        if isinstance(answer, int):
            return ExecSyncResponse(answer, b"", b"")
        program = interpret(list(cmd))
        runs_for = program.runs_for if program.understood else 0.0
        if runs_for is None or (timeout and runs_for > timeout):
            if not timeout:
                raise errors.InvalidConfig(f"exec {cmd[0]!r}: would never return")
            await asyncio.sleep(timeout)
            raise errors.ExecTimeout(
                f"exec {cmd[0]!r} in {name!r}: timed out after {timeout} s")
        if runs_for:
            await asyncio.sleep(runs_for)
        return ExecSyncResponse(program.exit_code, program.stdout, program.stderr)

    async def status(self) -> RuntimeStatus:
        """CRI Status: the runtime is always up; the network is its hook's answer."""
        network = await self.network.status() if self.network is not None else ""
        return RuntimeStatus((
            RuntimeCondition("RuntimeReady", True),
            RuntimeCondition("NetworkReady", not network,
                             "NetworkPluginNotReady" if network else "", network)))

    async def reopen_container_log(self, container_id: str) -> None:
        record = self._container(container_id)
        if self._state(record) != ContainerState.RUNNING:
            raise errors.NotFound(f"container {container_id[:12]} is not running")
        self.calls.append(("reopen_container_log", record.config.metadata.name))

    def image_ids_in_use(self) -> frozenset[str]:
        return frozenset(c.image_id for c in self.containers.values())


def _conforms(fake: FakeRuntimeService) -> RuntimeService:
    """mypy checks here that the fake implements the whole protocol."""
    return fake
