"""`berth server` as a user starts it, and the CLI finding it through $BERTH_HOME over TLS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.cli.conftest import ctrl_c_works


def berth_command() -> list[str]:
    script = Path(sys.executable).parent / "berth"
    return [str(script)] if script.exists() else [sys.executable, "-m", "berth.cli.main"]


def test_server_writes_kubeconfig_and_cli_uses_it(tmp_path: Path) -> None:
    env = {**os.environ, "BERTH_HOME": str(tmp_path / "home")}
    env.pop("KUBECONFIG", None)
    server = subprocess.Popen(
        [*berth_command(), "server", "--data-dir", str(tmp_path / "data"),
         "--listen", "127.0.0.1:0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=ctrl_c_works)
    try:
        kubeconfig = tmp_path / "home" / "kubeconfig"
        deadline = time.monotonic() + 60
        while not kubeconfig.exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert kubeconfig.exists(), server.stderr.read() if server.poll() is not None else ""
        out = subprocess.run([*berth_command(), "get", "namespaces"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        names = [line.split()[0] for line in out.stdout.splitlines()[1:]]
        assert "default" in names and "kube-system" in names
        assert "https://127.0.0.1:" in kubeconfig.read_text()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert "Traceback" not in (server.stderr.read() if server.stderr else "")


def test_bad_datastore_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "BERTH_HOME": str(tmp_path)}
    out = subprocess.run([*berth_command(), "server", "--data-dir", str(tmp_path / "d"),
                          "--listen", "127.0.0.1:0", "--datastore", "mysql://x"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith("error: datastore: ") and out.stderr.count("\n") == 1


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    env = {**os.environ, "BERTH_HOME": str(tmp_path)}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([*berth_command(), "server", "--data-dir", str(tmp_path / "d"),
                              "--listen", f"127.0.0.1:{port}"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr == f"error: --listen: cannot listen on 127.0.0.1:{port}: " \
        "Address already in use\n"
