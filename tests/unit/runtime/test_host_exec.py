"""Streaming exec through ``berth.host``: the runtime's command line, pipes and a real pty.

A shell script stands in for runc (``OCIRuntime.binary``), so the tests see
exactly the argv ``berth.host.oci`` runs and what the started program gets
(terminal, session, size, pipes, exit status) without root or a container.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from berth.host import oci
from berth.host.ttyexec import TtyProcess, start_tty_process
from berth.node.runtime.ttyexec import plan_tty_env

TTY_SCRIPT = """#!/bin/sh
echo "argv: $*"
tty
stty size
: </dev/tty && echo ctty-ok
read line
stty size
echo "got-$line"
exit 3
"""

PIPE_SCRIPT = """#!/bin/sh
echo "argv: $*"
cat
echo "to-stderr" >&2
exit 5
"""


def _fake_runtime(tmp_path: Path, script: str) -> oci.OCIRuntime:
    binary = tmp_path / "fake-runc"
    binary.write_text(script)
    binary.chmod(0o755)
    return oci.OCIRuntime(name="runc", root=tmp_path / "state", binary=str(binary))


async def _read_until(term: TtyProcess, marker: bytes, seen: bytearray) -> None:
    while marker not in seen:
        chunk = await term.read()
        if not chunk:
            raise AssertionError(f"{marker!r} never came; got {bytes(seen)!r}")
        seen += chunk


def test_plan_tty_env_adds_term_only_when_the_container_has_none() -> None:
    assert plan_tty_env(["PATH=/bin", "A=1"]) == ["PATH=/bin", "A=1", "TERM=xterm"]
    assert plan_tty_env(["TERM=vt100", "A=1"]) == ["TERM=vt100", "A=1"]
    assert plan_tty_env([]) == ["TERM=xterm"]


async def test_exec_tty_runs_the_runtime_in_its_own_session_on_a_resizable_pty(
        tmp_path: Path) -> None:
    rt = _fake_runtime(tmp_path, TTY_SCRIPT)
    term = await oci.exec_tty(rt, "cid", ["sh", "-c", "x y"], env=["A=1", "TERM=xterm"],
                              size=(100, 30))
    seen = bytearray()
    try:
        async with asyncio.timeout(10):
            await _read_until(term, b"ctty-ok", seen)
            assert os.getsid(term.proc.pid) == term.proc.pid  # a session leader
            term.resize(120, 40)
            await term.write(b"abc\n")
            while chunk := await term.read():
                seen += chunk
            assert await term.wait() == 3
    finally:
        term.kill()
        term.close()
    text = bytes(seen).decode()
    root = tmp_path / "state"
    assert f"argv: --root {root} exec --tty --env A=1 --env TERM=xterm cid sh -c x y" in text
    assert "/dev/pts/" in text
    assert "30 100\n" in text and "40 120\n" in text
    assert "got-abc\n" in text
    # the runtime's terminal is raw from the start (runc makes it raw too, but only once it
    # runs): nothing is translated on the host side, the container's terminal does it once
    assert "\r" not in text


async def test_send_eof_ends_a_reader_of_the_terminal() -> None:
    term = await start_tty_process(["sh", "-c", "cat; echo cat-done"])
    seen = bytearray()
    try:
        async with asyncio.timeout(10):
            await term.write(b"one\n")
            await _read_until(term, b"one\r\none\r\n", seen)  # the echo, then cat's copy
            await term.send_eof()
            await _read_until(term, b"cat-done", seen)
            assert await term.wait() == 0
    finally:
        term.kill()
        term.close()
    assert await term.read() == b""  # a closed terminal reads as ended


async def test_exec_stream_gives_the_runtime_stdin_stdout_and_stderr_pipes(
        tmp_path: Path) -> None:
    rt = _fake_runtime(tmp_path, PIPE_SCRIPT)
    proc = await oci.exec_stream(rt, "cid", ["cat", "-"])
    out, err = await asyncio.wait_for(proc.communicate(b"from-stdin\n"), 10)
    assert proc.returncode == 5
    assert out == f"argv: --root {tmp_path / 'state'} exec cid cat -\nfrom-stdin\n".encode()
    assert err == b"to-stderr\n"


@pytest.mark.parametrize("size", [(80, 24), (91, 17)])
async def test_start_tty_process_sets_the_size_before_the_program_starts(
        size: tuple[int, int]) -> None:
    term = await start_tty_process(["stty", "size"], size=size)
    seen = bytearray()
    try:
        async with asyncio.timeout(10):
            while chunk := await term.read():
                seen += chunk
            assert await term.wait() == 0
    finally:
        term.kill()
        term.close()
    assert bytes(seen) == f"{size[1]} {size[0]}\r\n".encode()
