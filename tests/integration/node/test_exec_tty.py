"""Exec with a terminal: over the API server's WebSocket, through `berth exec -it`, kubectl."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from berth.client import Client, load_config
from berth.client.http import resource_path, ssl_context
from berth.host.ttyexec import TtyProcess, set_window_size, start_tty_process
from tests.integration.node.conftest import (
    BERTH,
    PODS,
    Cluster,
    container,
    is_ready,
    pod,
    wait_for,
)

pytestmark = [pytest.mark.root, pytest.mark.slow]  # a whole cluster, kubectl, real terminals
POD = "tty"


@pytest.fixture(scope="module")
def shell_pod(cluster: Cluster) -> Iterator[str]:
    assert PODS is not None

    async def create() -> None:
        client = cluster.client()
        try:
            await client.create(PODS, pod(POD, [container("main", ["sleep", "3600"])],
                                          cluster.node))
            await wait_for(client, POD, is_ready, timeout=60)
        finally:
            await client.close()

    async def delete() -> None:
        client = cluster.client()
        try:
            await client.delete(PODS, "default", POD)
        finally:
            await client.close()

    try:
        asyncio.run(create())
        yield POD
    finally:
        asyncio.run(delete())


class Exec:
    """One exec WebSocket through the API server; collects channel 1/2 output."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.out = {1: b"", 2: b""}
        self.status: dict[str, object] | None = None

    async def send(self, channel: int, data: bytes) -> None:
        await self.ws.send_bytes(bytes([channel]) + data)

    async def resize(self, width: int, height: int) -> None:
        await self.send(4, json.dumps({"Width": width, "Height": height}).encode())

    async def read_until(self, pattern: bytes, timeout: float = 15.0) -> bytes:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.out[1]):
            left = deadline - time.monotonic()
            if left <= 0 or self.status is not None:
                raise AssertionError(f"{pattern!r} never came; got {self.out!r}")
            try:
                msg = await self.ws.receive(timeout=left)
            except TimeoutError:
                continue
            self._take(msg)
        return self.out[1]

    def _take(self, msg: aiohttp.WSMessage) -> None:
        if msg.type == aiohttp.WSMsgType.BINARY and msg.data:
            channel, payload = msg.data[0], msg.data[1:]
            if channel in (1, 2):
                self.out[channel] += payload
            elif channel == 3:
                self.status = json.loads(payload)

    async def finish(self, timeout: float = 15.0) -> dict[str, object]:
        async with asyncio.timeout(timeout):
            async for msg in self.ws:
                self._take(msg)
        assert self.status is not None, self.out
        return self.status


@pytest.fixture
async def open_exec(cluster: Cluster, shell_pod: str) -> AsyncIterator[object]:
    config = load_config(str(cluster.kubeconfig), {})
    assert PODS is not None
    url = config.server + resource_path(PODS, "default", shell_pod, "exec")
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context(config)))

    async def opener(*command: str, stdin: bool = True) -> Exec:
        params = [("command", c) for c in command] + [
            ("stdin", str(stdin).lower()), ("stdout", "true"), ("stderr", "false"),
            ("tty", "true")]
        ws = await session.ws_connect(url, params=params, protocols=("v5.channel.k8s.io",),
                                      headers={"Authorization": f"Bearer {config.token}"})
        assert ws.protocol == "v5.channel.k8s.io"
        return Exec(ws)

    try:
        yield opener
    finally:
        await session.close()


async def test_a_tty_exec_runs_on_a_pts_and_merges_stderr(open_exec: object) -> None:
    ex = await open_exec("sh", "-c", "tty; echo to-stderr >&2", stdin=False)  # type: ignore
    status = await ex.finish()
    assert status == {"metadata": {}, "status": "Success"}
    lines = ex.out[1].decode().splitlines()
    assert re.fullmatch(r"/dev/pts/\d+", lines[0]), lines
    assert lines[1] == "to-stderr" and ex.out[2] == b""  # a terminal merges stderr
    assert b"\r\n" in ex.out[1]  # the terminal's line discipline, not a pipe


async def test_interactive_shell_resizes_and_returns_its_exit_code(open_exec: object) -> None:
    ex = await open_exec("sh")  # type: ignore
    await ex.resize(100, 30)
    await ex.read_until(rb"/ # ")  # busybox sh's prompt: it sees a terminal
    await ex.send(0, b"stty size\n")
    await ex.read_until(rb"30 100\r\n")
    await ex.resize(132, 50)  # while running: the runtime gets SIGWINCH
    await asyncio.sleep(0.3)
    await ex.send(0, b"stty size; echo $TERM\n")
    await ex.read_until(rb"50 132\r\nxterm\r\n")
    await ex.send(0, b"exit 5\n")
    status = await ex.finish()
    assert status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"] == {"causes": [{"reason": "ExitCode", "message": "5"}]}


async def test_closing_stdin_ends_a_shell_like_ctrl_d(open_exec: object) -> None:
    ex = await open_exec("sh")  # type: ignore
    await ex.read_until(rb"/ # ")
    await ex.send(255, b"\x00")
    assert (await ex.finish())["status"] == "Success"


async def _read_terminal(term: TtyProcess, pattern: bytes, seen: bytearray,
                         timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not re.search(pattern, bytes(seen)):
            chunk = await term.read()
            if not chunk:
                raise AssertionError(f"{pattern!r} never came; got {bytes(seen)!r}")
            seen += chunk


async def _drive(argv: list[str], cluster: Cluster) -> tuple[int, bytes]:
    """Run ``argv`` on a pseudo-terminal 90x33, play an interactive shell session, exit 7."""
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "TERM": "xterm"}
    term = await start_tty_process(["env", *(f"{k}={v}" for k, v in env.items()), *argv],
                                   size=(90, 33))
    seen = bytearray()
    try:
        await _read_terminal(term, rb"/ # ", seen)
        await term.write(b"stty size; echo hello-$((40+2))\r")
        await _read_terminal(term, rb"33 90\r\nhello-42\r\n", seen)
        set_window_size(term.master, 120, 40)  # the local terminal is resized: SIGWINCH
        await asyncio.sleep(0.5)
        await term.write(b"stty size\r")
        await _read_terminal(term, rb"40 120\r\n", seen)
        await term.write(b"exit 7\r")
        async with asyncio.timeout(20):
            while await term.read():
                pass
            code = await term.wait()
        return code, bytes(seen)
    finally:
        term.kill()
        await term.wait()
        term.close()


async def test_berth_exec_it_on_a_real_terminal(cluster: Cluster, shell_pod: str,
                                                tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    script = f'stty -g > {before}; "$@"; code=$?; stty -g > {after}; exit $code'
    code, seen = await _drive(["sh", "-c", script, "sh", BERTH, "exec", "-it", shell_pod, "--",
                               "sh"], cluster)
    assert code == 7, seen
    assert b"Traceback" not in seen
    assert after.read_text() == before.read_text()  # the terminal is back as it was


async def test_berth_exec_t_without_a_terminal_warns_and_runs_without_one(
        cluster: Cluster, shell_pod: str) -> None:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    proc = await asyncio.create_subprocess_exec(
        BERTH, "exec", "-i", "-t", shell_pod, "--", "sh", "-c", "cat; tty; exit 3",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    out, err = await asyncio.wait_for(proc.communicate(b"piped\n"), 30)
    assert proc.returncode == 3, err
    assert out == b"piped\nnot a tty\n"
    assert b"Unable to use a TTY - input is not a terminal" in err


@pytest.mark.kubectl
async def test_kubectl_exec_it_on_a_real_terminal(cluster: Cluster, shell_pod: str,
                                                   api: Client) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    code, seen = await _drive([kubectl, "exec", "-it", shell_pod, "--", "sh"], cluster)
    assert code == 7, seen
