"""A real berth API server on a free loopback port, for running the real `berth` CLI.

The server is ``berth.server.start_server`` (PKI, tokens, SQLite store,
built-in namespaces, HTTPS on a free 127.0.0.1 port) run by a background
thread's event loop; the admin kubeconfig it writes into the test's
``BERTH_HOME`` points the CLI at it (CA data + bearer token).
``berth`` runs as a subprocess, exactly as a user runs it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Cluster:
    home: Path
    server: str

    def berth(self, *args: str, stdin: str | None = None, timeout: float = 60) -> \
            subprocess.CompletedProcess[str]:
        env = {**os.environ, "BERTH_HOME": str(self.home)}
        env.pop("KUBECONFIG", None)
        script = Path(sys.executable).parent / "berth"
        command = [str(script)] if script.exists() else [sys.executable, "-m", "berth.cli.main"]
        return subprocess.run([*command, *args], input=stdin,
                              capture_output=True, text=True, env=env, timeout=timeout)


def ctrl_c_works() -> None:
    """``preexec_fn`` for a command a test will stop with SIGINT, as Ctrl-C would.

    A shell gives the commands it starts in the background SIGINT ignored, and
    that is inherited (``bash .ci/run &`` -> make -> pytest -> the command);
    an interactive shell gives its foreground command the default action.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _serve(data_dir: Path, kubeconfig: Path, ready: threading.Event, box: dict[str, object],
           stop: threading.Event) -> None:
    async def main() -> None:
        from berth.server import ServerConfig, start_server

        running = await start_server(ServerConfig(data_dir=data_dir, host="127.0.0.1", port=0,
                                                  kubeconfig_path=kubeconfig))
        box["url"] = running.url
        ready.set()
        try:
            while not stop.is_set():
                await asyncio.sleep(0.05)
        finally:
            await running.stop()

    try:
        asyncio.run(main())
    except BaseException as exc:  # report start-up failures to the fixture
        box["error"] = exc
        ready.set()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    ready, stop = threading.Event(), threading.Event()
    box: dict[str, object] = {}
    thread = threading.Thread(
        target=_serve, args=(tmp_path / "data", tmp_path / "kubeconfig", ready, box, stop),
        daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "server did not start"
        if "error" in box:
            raise RuntimeError(f"server failed to start: {box['error']!r}")
        yield Cluster(tmp_path, str(box["url"]))
    finally:
        stop.set()
        thread.join(10)
