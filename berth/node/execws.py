"""The node endpoint's exec: one WebSocket session per command, with or without a terminal.

Protocol (docs/api-server.md, Kubernetes' ``v5.channel.k8s.io`` and
``v4.channel.k8s.io``): every binary message starts with a channel byte,
0 stdin, 1 stdout, 2 stderr, 3 the final ``v1 Status`` (Success, or Failure
with reason NonZeroExitCode and an ExitCode cause), 4 resize
``{"Width":W,"Height":H}``, and in v5 255 close (``\\xff\\x00``: stdin ended).

``plan_exec`` turns the query into an ``ExecRequest`` (pure);
``exec_handler`` starts the command through the runtime and wraps it in one of
two sessions with the same small surface: ``PipeSession`` (stdin/stdout/stderr
pipes, the default) and ``TtySession`` (``tty=true``: a terminal from
``berth.node.runtime.ttyexec``; stdout only, since a terminal merges stderr
into it, and resizes applied to it).  ``run_session`` pumps the outputs to
the client and the client's frames to the session, then sends the exit
status on channel 3 and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

from aiohttp import WSMsgType, web

from berth.node.runtime.ttyexec import DEFAULT_SIZE, TtyProcess

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
TTY_DRAIN_SECONDS = 2.0
Reader = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True)
class ExecRequest:
    command: list[str]
    stdin: bool
    tty: bool


class BadExecRequest(ValueError):
    """The exec query cannot be served; the message names the parameter."""


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def plan_exec(query: dict[str, list[str]]) -> ExecRequest:
    """The request a query means: ``command`` (repeated), ``stdin``, ``tty``."""
    command = query.get("command") or []
    if not command:
        raise BadExecRequest("you must specify at least one command")
    first = {k: (v[0] if v else "") for k, v in query.items()}
    return ExecRequest(command=list(command), stdin=_flag(first.get("stdin", "")),
                       tty=_flag(first.get("tty", "")))


def exit_status(code: int) -> bytes:
    """The channel-3 Status for an exit code, worded as the kubelet words it."""
    if code == 0:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    return json.dumps({
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: exit status {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}).encode()


def parse_resize(payload: bytes) -> tuple[int, int] | None:
    """(width, height) from a channel-4 message; None when it is not a usable size."""
    try:
        size = json.loads(payload)
        width, height = int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None
    return (width, height) if 0 < width < 65536 and 0 < height < 65536 else None


class Session(Protocol):
    outputs: list[tuple[int, Reader]]

    async def write_stdin(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    def resize(self, width: int, height: int) -> None: ...
    async def wait(self) -> int: ...
    def kill(self) -> None: ...
    def close(self) -> None: ...


class PipeSession:
    """A command on pipes: stdout on channel 1, stderr on channel 2; no terminal to resize."""

    def __init__(self, proc: asyncio.subprocess.Process, stdin: bool) -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.proc, self._stdin = proc, proc.stdin
        out, err = proc.stdout, proc.stderr
        self.outputs: list[tuple[int, Reader]] = [
            (STDOUT, lambda: out.read(65536)), (STDERR, lambda: err.read(65536))]
        if not stdin:
            self._stdin.close()

    async def write_stdin(self, data: bytes) -> None:
        if not self._stdin.is_closing():
            self._stdin.write(data)
            with contextlib.suppress(ConnectionError):
                await self._stdin.drain()

    async def close_stdin(self) -> None:
        self._stdin.close()

    def resize(self, width: int, height: int) -> None:
        return None

    async def wait(self) -> int:
        return await self.proc.wait()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()

    def close(self) -> None:
        return None


class TtySession:
    """A command on a terminal: everything it writes comes on channel 1."""

    def __init__(self, tty: TtyProcess) -> None:
        self.tty = tty
        self.outputs: list[tuple[int, Reader]] = [(STDOUT, self._read)]

    async def _read(self) -> bytes:
        # the terminal reads until the runtime exits; then drain what is left, briefly
        read = asyncio.ensure_future(self.tty.read())
        if self.tty.proc.returncode is None:
            exited = asyncio.ensure_future(self.tty.proc.wait())
            await asyncio.wait({read, exited}, return_when=asyncio.FIRST_COMPLETED)
            exited.cancel()
        try:
            return await asyncio.wait_for(read, TTY_DRAIN_SECONDS)
        except TimeoutError:
            return b""

    async def write_stdin(self, data: bytes) -> None:
        await self.tty.write(data)

    async def close_stdin(self) -> None:
        await self.tty.send_eof()

    def resize(self, width: int, height: int) -> None:
        self.tty.resize(width, height)

    async def wait(self) -> int:
        return await self.tty.wait()

    def kill(self) -> None:
        self.tty.kill()

    def close(self) -> None:
        self.tty.close()


async def _read_client(ws: web.WebSocketResponse, session: Session) -> None:
    async for msg in ws:
        if msg.type != WSMsgType.BINARY or not msg.data:
            continue
        channel, payload = msg.data[0], msg.data[1:]
        if channel == STDIN:
            await session.write_stdin(payload)
        elif channel == RESIZE:
            size = parse_resize(payload)
            if size is not None:
                session.resize(*size)
        elif channel == CLOSE and payload[:1] == bytes([STDIN]):
            await session.close_stdin()
    session.kill()  # the client went away: so does its command


async def run_session(ws: web.WebSocketResponse, session: Session) -> None:
    """Relay until the command ends, send its exit status, close the WebSocket."""

    async def pump(channel: int, read: Reader) -> None:
        while chunk := await read():
            await ws.send_bytes(bytes([channel]) + chunk)

    reader = asyncio.create_task(_read_client(ws, session))
    try:
        await asyncio.gather(*(pump(channel, read) for channel, read in session.outputs))
        code = await session.wait()
        await ws.send_bytes(bytes([ERROR]) + exit_status(code))
    finally:
        reader.cancel()
        session.kill()
        with contextlib.suppress(Exception):
            await session.wait()
        session.close()
        await ws.close()


class StreamingExec(Protocol):
    """What a runtime offers beyond the CRI protocol for the endpoint's exec."""

    async def exec_stream(self, container_id: str, cmd: list[str]
                          ) -> asyncio.subprocess.Process: ...

    async def exec_tty(self, container_id: str, cmd: list[str], size: tuple[int, int]
                       ) -> TtyProcess: ...


class NoStreamingExec(Exception):
    """The node's runtime cannot stream an exec."""


async def start_session(runtime: object, container_id: str, request: ExecRequest) -> Session:
    """Start the command through the runtime's streaming exec."""
    if not (hasattr(runtime, "exec_stream") and hasattr(runtime, "exec_tty")):
        raise NoStreamingExec("this runtime has no streaming exec")
    streaming = cast(StreamingExec, runtime)
    if request.tty:
        return TtySession(await streaming.exec_tty(container_id, request.command, DEFAULT_SIZE))
    return PipeSession(await streaming.exec_stream(container_id, request.command),
                       request.stdin)
