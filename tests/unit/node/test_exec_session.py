"""The exec session's pure parts and the terminal process, without root or a container."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from berth.cli.exec import NO_TTY_WARNING, plan_tty
from berth.host.ttyexec import start_tty_process
from berth.node.execws import BadExecRequest, exit_status, parse_resize, plan_exec


def test_plan_exec_reads_command_stdin_and_tty() -> None:
    got = plan_exec({"command": ["sh", "-c", "x"], "stdin": ["true"], "tty": ["1"]})
    assert (got.command, got.stdin, got.tty) == (["sh", "-c", "x"], True, True)
    assert not plan_exec({"command": ["ls"]}).tty
    with pytest.raises(BadExecRequest, match="at least one command"):
        plan_exec({"tty": ["true"]})


def test_exit_status_is_kubernetes_status() -> None:
    assert json.loads(exit_status(0)) == {"metadata": {}, "status": "Success"}
    failed = json.loads(exit_status(42))
    assert failed["reason"] == "NonZeroExitCode"
    assert failed["details"]["causes"] == [{"reason": "ExitCode", "message": "42"}]


@pytest.mark.parametrize("payload,size", [
    (b'{"Width":120,"Height":40}', (120, 40)),
    (b'{"Width":0,"Height":40}', None),
    (b'{"Height":40}', None),
    (b"not json", None),
])
def test_parse_resize(payload: bytes, size: tuple[int, int] | None) -> None:
    assert parse_resize(payload) == size


def test_plan_tty_follows_kubectl() -> None:
    warn = io.StringIO()
    assert plan_tty(True, True, True, warn) and not warn.getvalue()
    assert not plan_tty(True, False, True, warn) and not warn.getvalue()  # -t alone: silent
    assert not plan_tty(True, True, False, warn)
    assert warn.getvalue().strip() == NO_TTY_WARNING


async def test_a_tty_process_has_a_terminal_its_size_and_exit_code() -> None:
    term = await start_tty_process(
        ["sh", "-c", "stty size; read line; echo got-$line; exit 4"], size=(91, 17))
    seen = b""
    try:
        async with asyncio.timeout(10):
            while b"17 91" not in seen:
                seen += await term.read()
            await term.write(b"abc\n")
            while chunk := await term.read():
                seen += chunk
            assert await term.wait() == 4
    finally:
        term.kill()
        term.close()
    assert b"got-abc\r\n" in seen
