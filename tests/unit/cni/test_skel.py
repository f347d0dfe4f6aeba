"""The plugin protocol: environment and stdin validation, error JSON, VERSION, result format."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from berth.cni.conf import NetConf
from berth.cni.plugins.host_local import HostLocal
from berth.cni.skel import CmdArgs, Plugin, dispatch
from berth.cni.spec import Result

VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]
ENV = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "ctr1", "CNI_NETNS": "/run/netns/x",
       "CNI_IFNAME": "eth0", "CNI_PATH": "/opt/cni/bin"}


def run(plugin: Plugin, env: dict[str, str], stdin: bytes | dict[str, Any]
        ) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    data = stdin if isinstance(stdin, bytes) else json.dumps(stdin).encode()
    code = dispatch(plugin, env, data, out)
    return code, json.loads(out.getvalue())


def conf(tmp_path: Path, version: str = "1.0.0", **ipam: Any) -> dict[str, Any]:
    return {"cniVersion": version, "name": "net1", "type": "berth-bridge",
            "ipam": {"type": "berth-host-local", "dataDir": str(tmp_path),
                     "ranges": [[{"subnet": "10.9.0.0/24"}]], **ipam}}


def test_version_lists_supported_versions() -> None:
    code, out = run(HostLocal(), {"CNI_COMMAND": "VERSION"}, b"")
    assert code == 0
    assert out == {"cniVersion": "1.1.0",
                   "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]}


@pytest.mark.parametrize(
    ("drop", "overrides", "code", "needle"),
    [
        ("CNI_COMMAND", {}, 4, "[CNI_COMMAND]"),
        ("CNI_CONTAINERID", {}, 4, "CNI_CONTAINERID"),
        ("CNI_NETNS", {}, 4, "CNI_NETNS"),
        ("CNI_IFNAME", {}, 4, "CNI_IFNAME"),
        ("CNI_PATH", {}, 4, "CNI_PATH"),
        (None, {"CNI_COMMAND": "FROB"}, 4, "CNI_COMMAND"),
        (None, {"CNI_IFNAME": "a-very-long-name0"}, 4, "CNI_IFNAME: interface name is too long"),
        (None, {"CNI_IFNAME": "eth/0"}, 4, "CNI_IFNAME"),
        (None, {"CNI_CONTAINERID": "bad id!"}, 4, "CNI_CONTAINERID"),
        (None, {"CNI_ARGS": "IgnoreUnknown=1;broken"}, 4, "CNI_ARGS"),
    ],
)
def test_bad_environment_is_code_4_naming_the_variable(
    tmp_path: Path, drop: str | None, overrides: dict[str, str], code: int, needle: str
) -> None:
    env = {k: v for k, v in ENV.items() if k != drop} | overrides
    status, out = run(HostLocal(), env, conf(tmp_path))
    assert status == 1
    assert out["code"] == code
    assert needle in out["msg"]


@pytest.mark.parametrize(
    ("stdin", "code", "needle"),
    [
        (b"{not json", 6, "stdin: invalid JSON at line 1 column 2"),
        (b"[1, 2]", 6, "expected a JSON object"),
        (b"\xff\xfe", 6, "stdin"),
        (b'{"name": "n", "type": "t"}', 7, "cniVersion"),
        (b'{"cniVersion": "7.0.0", "name": "n", "type": "t"}', 1, "incompatible CNI versions"),
        (b'{"cniVersion": "0.2.0", "name": "n", "type": "t"}', 1, "incompatible CNI versions"),
        (b'{"cniVersion": "1.0.0", "type": "t"}', 7, "name"),
        (b'{"cniVersion": "1.0.0", "name": "bad name", "type": "t"}', 7, "name"),
        (b'{"cniVersion": "1.0.0", "name": "n"}', 7, "type"),
        (b'{"cniVersion": "1.0.0", "name": "n", "type": "t", "prevResult": {"ips": 1}}', 6,
         "prevResult"),
    ],
)
def test_bad_stdin_gives_the_spec_code(stdin: bytes, code: int, needle: str) -> None:
    status, out = run(HostLocal(), ENV, stdin)
    assert (status, out["code"]) == (1, code)
    assert needle in out["msg"]


class Exploding(Plugin):
    name = "exploding"

    def add(self, args: CmdArgs, conf: NetConf) -> Result:
        raise KeyError("boom")


def test_unexpected_exceptions_become_error_json_not_tracebacks(tmp_path: Path) -> None:
    status, out = run(Exploding(), ENV, conf(tmp_path))
    assert status == 1
    assert out["code"] == 999
    assert "KeyError" in out["msg"]


@pytest.mark.parametrize("version", VERSIONS)
def test_result_is_printed_in_the_requested_version(tmp_path: Path, version: str) -> None:
    status, out = run(HostLocal(), ENV, conf(tmp_path, version))
    assert status == 0
    assert out["cniVersion"] == version
    ip = out["ips"][0]
    assert ip["address"] == "10.9.0.2/24"
    assert ("version" in ip) is (version < "1.0.0")


@pytest.mark.parametrize(("command", "version"), [("CHECK", "0.3.1"), ("STATUS", "1.0.0"),
                                                  ("GC", "1.0.0")])
def test_commands_newer_than_the_config_version_are_refused(
    tmp_path: Path, command: str, version: str
) -> None:
    status, out = run(HostLocal(), ENV | {"CNI_COMMAND": command}, conf(tmp_path, version))
    assert (status, out["code"]) == (1, 1)
    assert command in out["msg"]
    assert out["cniVersion"] == version


def test_del_needs_no_netns(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "CNI_NETNS"} | {"CNI_COMMAND": "DEL"}
    out = io.StringIO()
    assert dispatch(HostLocal(), env, json.dumps(conf(tmp_path)).encode(), out) == 0
    assert out.getvalue() == ""
