"""The OCI runtime binary adapter: runc by default, crun selectable.

Every call builds an argv (``OCIRuntime.argv``), runs it as an asyncio
subprocess (file steps through ``asyncio.to_thread``: nothing blocks the
caller's event loop) and translates the runtime's error text into
``berth.host.runtime_errors`` (not found, exists, timeout, failed), so callers
never parse stderr.  Containers are created through ``berth-monitor``
(``create_monitored``): the monitor runs ``<runtime> create`` with pipes it
owns and stays behind as the container's keeper, so containers survive the
death of the process that asked for them.

The node endpoint's streaming exec starts ``<runtime> exec`` here too and gets
back a live process to pump: ``exec_stream`` on stdin/stdout/stderr pipes,
``exec_tty`` on a pseudo-terminal (``berth.host.ttyexec.TtyProcess``).

crun 1.8 refuses the hybrid cgroup layout of some hosts; with
``hybrid_workaround`` its commands run inside ``unshare -m`` after unmounting
``/sys/fs/cgroup/unified`` in that private mount namespace only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from berth.host.runtime_errors import (
    ContainerExists,
    ContainerNotFound,
    OCIRuntimeError,
    RuntimeTimeout,
)
from berth.host.ttyexec import DEFAULT_SIZE, TtyProcess, start_tty_process

RUNTIMES = ("runc", "crun")
_NOT_FOUND = ("does not exist", "not found", "no such file or directory")


@dataclass(frozen=True)
class OCIRuntime:
    """Which runtime binary to run, and where it keeps its state (``--root``)."""

    name: str
    root: Path
    binary: str = ""
    hybrid_workaround: bool = False

    def argv(self, *args: str) -> list[str]:
        """The full command line for ``<runtime> --root ROOT args...``."""
        base = [self.binary or self.name, "--root", str(self.root), *args]
        if not self.hybrid_workaround:
            return base
        script = 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"'
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *base]


def make_runtime(name: str, root: Path) -> OCIRuntime:
    """The adapter for runtime ``name`` (``runc`` or ``crun``) with state under ``root``."""
    if name not in RUNTIMES:
        raise OCIRuntimeError([name], f"unknown runtime {name!r}; choose one of {RUNTIMES}")
    hybrid = name == "crun" and Path("/sys/fs/cgroup/unified").is_dir()
    return OCIRuntime(name=name, root=root, hybrid_workaround=hybrid)


@dataclass(frozen=True)
class RuntimeState:
    """What ``<runtime> state`` reports: status is created, running, paused or stopped."""

    id: str
    pid: int
    status: str
    bundle: str
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True)
class MonitoredContainer:
    """A created (not yet started) container and the pid of its keeper."""

    pid: int
    monitor_pid: int


def _translate(command: list[str], returncode: int, stderr: str) -> OCIRuntimeError:
    text = stderr.strip()
    low = text.lower()
    if "already exists" in low:
        return ContainerExists(command, text)
    if any(marker in low for marker in _NOT_FOUND) and "container" in low:
        return ContainerNotFound(command, text)
    return OCIRuntimeError(command, text or f"exit status {returncode}")


async def _run(
    command: list[str], timeout: float | None = 30.0, stdin: bytes | None = None,
    on_timeout: Callable[[], None] | None = None,
) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    communicate = asyncio.ensure_future(proc.communicate(stdin))
    try:
        out, err = await asyncio.wait_for(asyncio.shield(communicate), timeout)
    except TimeoutError:
        if on_timeout is not None:
            await asyncio.to_thread(on_timeout)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(communicate), 2.0)
        if proc.returncode is None:
            proc.kill()
        await communicate
        raise RuntimeTimeout(command, f"no answer within {timeout} s") from None
    assert proc.returncode is not None
    return proc.returncode, out, err


async def _check(command: list[str], timeout: float | None = 30.0) -> bytes:
    code, out, err = await _run(command, timeout)
    if code != 0:
        raise _translate(command, code, err.decode(errors="replace"))
    return out


async def create_monitored(
    rt: OCIRuntime,
    monitor: Path,
    container_id: str,
    bundle: Path,
    *,
    log_path: Path | None,
    exit_path: Path,
    pid_path: Path,
    oom_path: Path | None = None,
) -> MonitoredContainer:
    """``<runtime> create`` through berth-monitor; returns the init and keeper pids."""
    runtime_cmd = rt.argv("create", "--bundle", str(bundle), "--pid-file", str(pid_path),
                          container_id)
    command = [str(monitor), "-e", str(exit_path), "-p", str(pid_path)]
    if log_path is not None:
        command += ["-l", str(log_path)]
    if oom_path is not None:
        command += ["-o", str(oom_path)]
    command += ["--", *runtime_cmd]
    code, out, err = await _run(command, timeout=60.0)
    if code != 0:
        raise _translate(runtime_cmd, code, err.decode(errors="replace"))
    init_pid, monitor_pid = (int(part) for part in out.split()[:2])
    return MonitoredContainer(pid=init_pid, monitor_pid=monitor_pid)


async def start(rt: OCIRuntime, container_id: str) -> None:
    await _check(rt.argv("start", container_id))


async def state(rt: OCIRuntime, container_id: str) -> RuntimeState:
    raw = json.loads(await _check(rt.argv("state", container_id)))
    return RuntimeState(
        id=raw["id"], pid=int(raw.get("pid") or 0), status=raw.get("status", "unknown"),
        bundle=raw.get("bundle", ""), annotations=raw.get("annotations") or {},
    )


async def list_containers(rt: OCIRuntime) -> list[RuntimeState]:
    raw = json.loads(await _check(rt.argv("list", "--format", "json")) or b"null") or []
    return [
        RuntimeState(id=c["id"], pid=int(c.get("pid") or 0), status=c.get("status", "unknown"),
                     bundle=c.get("bundle", ""), annotations=c.get("annotations") or {})
        for c in raw
    ]


async def kill(rt: OCIRuntime, container_id: str, signal: int, *, all_processes: bool = False
               ) -> None:
    """Send ``signal`` to the container's init (or every process in it)."""
    args = ["kill", *(["--all"] if all_processes else []), container_id, str(signal)]
    await _check(rt.argv(*args))


async def delete(rt: OCIRuntime, container_id: str, *, force: bool = True) -> None:
    """Delete the container; a container the runtime no longer knows counts as deleted."""
    try:
        await _check(rt.argv("delete", *(["--force"] if force else []), container_id))
    except ContainerNotFound:
        return


async def exec_sync(
    rt: OCIRuntime, container_id: str, argv: list[str], *, timeout: float | None = None,
    env: dict[str, str] | None = None, cwd: str | None = None,
) -> ExecResult:
    """Run ``argv`` inside the container and collect its exit code and output.

    On timeout the exec'd process itself is SIGKILLed (killing ``runc exec``
    alone would leave it running in the container), then ``RuntimeTimeout``.
    """
    extra: list[str] = []
    for key, value in (env or {}).items():
        extra += ["--env", f"{key}={value}"]
    if cwd:
        extra += ["--cwd", cwd]
    pid_file = rt.root / f"exec-{container_id[:12]}-{secrets.token_hex(4)}.pid"
    command = rt.argv("exec", "--pid-file", str(pid_file), *extra, container_id, *argv)

    def kill_process() -> None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            signal_process(int(pid_file.read_text().strip()), 9)

    try:
        code, out, err = await _run(command, timeout=timeout, on_timeout=kill_process)
    finally:
        await asyncio.to_thread(pid_file.unlink, missing_ok=True)
    if code != 0 and not out and _looks_like_runtime_error(err):
        raise _translate(command, code, err.decode(errors="replace"))
    return ExecResult(exit_code=code, stdout=out, stderr=err)


async def exec_stream(rt: OCIRuntime, container_id: str, argv: Sequence[str]
                      ) -> asyncio.subprocess.Process:
    """Start ``argv`` in the container on stdin/stdout/stderr pipes (no terminal).

    The caller pumps the pipes and waits for the process: the exit status of
    ``<runtime> exec`` is the command's.
    """
    pipe = asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        *rt.argv("exec", container_id, *argv), stdin=pipe, stdout=pipe, stderr=pipe)


async def exec_tty(rt: OCIRuntime, container_id: str, argv: Sequence[str], *,
                   env: Sequence[str] = (), size: tuple[int, int] = DEFAULT_SIZE
                   ) -> TtyProcess:
    """Start ``argv`` in the container on a terminal ``size`` (width, height) big.

    ``env`` entries (``KEY=VALUE``) go to ``--env``; the runtime runs in the
    foreground on a raw pty of its own (``berth.host.ttyexec``'s docstring): the
    container's own terminal does the line discipline, once.
    """
    flags: list[str] = []
    for entry in env:
        flags += ["--env", entry]
    return await start_tty_process(rt.argv("exec", "--tty", *flags, container_id, *argv), size,
                                   raw=True)


def _looks_like_runtime_error(err: bytes) -> bool:
    text = err.decode(errors="replace").lower()
    return "container" in text and any(m in text for m in (*_NOT_FOUND, "not running"))


def process_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return fields[0] not in ("Z", "X")


def process_start_time(pid: int) -> int:
    """The kernel's start time of ``pid`` (clock ticks since boot), 0 if it is gone.

    Recorded beside a pid so a reused pid is never mistaken for our process.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0


def signal_process(pid: int, signal: int) -> None:
    """Send a signal to a process we started (a monitor), ignoring one already gone."""
    try:
        os.kill(pid, signal)
    except ProcessLookupError:
        return
