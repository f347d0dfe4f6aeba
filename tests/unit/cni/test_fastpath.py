"""The fast path without root: installed wrappers exec'd with an empty environment talk to a
real ``FastPathServer`` on a unix socket in tmp (host-local needs no netns), and fall back to
the in-process handler when no server answers."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.cni.conf import NetConf
from berth.cni.fastpath import DEFAULT_SOCKET, encode_request, socket_path
from berth.cni.install import install, plan_install, render_wrapper
from berth.cni.server import FastPathServer, decode_request
from berth.cni.skel import CmdArgs, Plugin
from berth.cni.spec import Result


def hl_conf(data_dir: Path, **top: Any) -> bytes:
    return json.dumps({"cniVersion": "1.0.0", "name": "fp", "type": "berth-host-local",
                       "ipam": {"type": "berth-host-local", "dataDir": str(data_dir),
                                "ranges": [[{"subnet": "10.9.0.0/24"}]]}, **top}).encode()


def env(command: str, sock: str, cid: str = "c1") -> dict[str, str]:
    return {"CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_NETNS": "/run/netns/none",
            "CNI_IFNAME": "eth0", "CNI_PATH": "/nonexistent", "BERTH_CNI_SOCKET": sock}


@pytest.fixture(params=["native", "wrapper"])
def bin_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    install(tmp_path / "bin", request.param)
    return tmp_path / "bin"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[FastPathServer]:
    server = FastPathServer(str(tmp_path / "cni.sock"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run(binary: Path, e: dict[str, str], stdin: bytes) -> tuple[int, Any]:
    proc = subprocess.run([str(binary)], input=stdin, env=e, capture_output=True, timeout=60,
                          check=False)
    assert proc.stderr == b""
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None


def test_request_round_trips_through_the_wire_format() -> None:
    data = encode_request("berth-bridge", {b"CNI_COMMAND": b"ADD", b"X": b"a=b"}, b'{"k": 1}')
    assert decode_request(data) == ("berth-bridge", {"CNI_COMMAND": "ADD", "X": "a=b"},
                                    b'{"k": 1}')


def test_socket_path_env_then_conf_field_then_default() -> None:
    assert socket_path({}, b"{}") == DEFAULT_SOCKET
    assert socket_path({}, b'{"berthSocket": "/x/s.sock"}') == "/x/s.sock"
    assert socket_path({b"BERTH_CNI_SOCKET": b"/e.sock"}, b'{"berthSocket": "/x"}') == "/e.sock"
    assert socket_path({b"BERTH_CNI_SOCKET": b"off"}, b"{}") is None


def test_installed_wrapper_is_standalone_and_starts_without_site(tmp_path: Path) -> None:
    entries = plan_install(tmp_path, python="/py/bin/python3", root="/src")
    assert [e.name for e in entries] == ["berth-bridge", "berth-host-local", "berth-loopback",
                                         "berth-portmap", "berth-net"]
    assert entries[0].content == render_wrapper("berth-bridge", "/py/bin/python3", "/src")
    assert entries[0].content.startswith("#!/py/bin/python3 -IS\n")


def test_served_add_and_del_through_the_socket(bin_dir: Path, tmp_path: Path,
                                               served: FastPathServer) -> None:
    sock = served.path
    code, out = run(bin_dir / "berth-host-local", env("ADD", sock), hl_conf(tmp_path / "ipam"))
    assert code == 0, out
    assert out["ips"][0]["address"] == "10.9.0.2/24"
    assert os.listdir(tmp_path / "ipam" / "fp").count("10.9.0.2") == 1
    assert run(bin_dir / "berth-host-local", env("DEL", sock), hl_conf(tmp_path / "ipam")) == (
        0, None)
    assert "10.9.0.2" not in os.listdir(tmp_path / "ipam" / "fp")


def test_served_errors_keep_their_code_and_field(bin_dir: Path, tmp_path: Path,
                                                 served: FastPathServer) -> None:
    bad = json.loads(hl_conf(tmp_path))
    bad["ipam"]["ranges"] = [[{"subnet": "10.9.0.0/33"}]]
    code, out = run(bin_dir / "berth-host-local", env("ADD", served.path), json.dumps(bad).encode())
    assert code == 1
    assert out["code"] == 7 and "ipam.ranges[0][0].subnet" in out["msg"]
    e = env("ADD", served.path)
    del e["CNI_NETNS"]
    code, out = run(bin_dir / "berth-host-local", e, hl_conf(tmp_path))
    assert (code, out["code"]) == (1, 4) and "CNI_NETNS" in out["msg"]


def test_without_a_server_the_handler_runs_in_process(bin_dir: Path, tmp_path: Path) -> None:
    sock = str(tmp_path / "nobody.sock")
    code, out = run(bin_dir / "berth-host-local", env("ADD", sock), hl_conf(tmp_path / "ipam"))
    assert code == 0 and out["ips"][0]["address"] == "10.9.0.2/24"
    code, out = run(bin_dir / "berth-bridge", {"CNI_COMMAND": "VERSION"}, b"")
    assert code == 0 and "1.1.0" in out["supportedVersions"]


class Recorder(Plugin):
    """Records what the server handed to the handler (a fake beside the real tests above)."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[CmdArgs] = []

    def add(self, args: CmdArgs, conf: NetConf) -> Result:
        self.seen.append(args)
        return Result(conf.cni_version)


def test_server_passes_env_and_stdin_unchanged(bin_dir: Path, tmp_path: Path) -> None:
    rec = Recorder()
    with FastPathServer(str(tmp_path / "s.sock"), {"berth-bridge": rec}):
        e = env("ADD", str(tmp_path / "s.sock")) | {"CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAME=p"}
        code, out = run(bin_dir / "berth-bridge", e, hl_conf(tmp_path))
    assert code == 0 and out == {"cniVersion": "1.0.0"}
    assert rec.seen[0].args == (("IgnoreUnknown", "1"), ("K8S_POD_NAME", "p"))
    assert rec.seen[0].stdin == hl_conf(tmp_path)
    assert rec.seen[0].env["CNI_PATH"] == "/nonexistent"


def test_cli_install_and_its_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from berth.cli.main import main

    assert main(["cni", "install", str(tmp_path / "bin"), "--mode", "wrapper"]) == 0
    assert sorted(os.listdir(tmp_path / "bin")) == ["berth-bridge", "berth-host-local",
                                                    "berth-loopback", "berth-net",
                                                    "berth-portmap"]
    (tmp_path / "file").write_text("")
    assert main(["cni", "install", str(tmp_path / "file" / "bin")]) == 1
    err = capsys.readouterr().err
    assert "file/bin/berth-bridge: cannot install" in err and "Traceback" not in err
