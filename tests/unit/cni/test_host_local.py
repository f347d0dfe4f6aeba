"""berth-host-local through the CNI protocol: in-process for the rules, exec'd for concurrency
and for interoperating with the reference host-local on the same data directory."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from berth.cni.plugins.host_local import HostLocal
from berth.cni.skel import dispatch

VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]
BIN = Path(sys.executable).parent / "berth-host-local"
REFERENCE = Path("/usr/lib/cni/host-local")


def env(command: str, cid: str = "ctr1", ifname: str = "eth0", **extra: str) -> dict[str, str]:
    return {"CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_NETNS": "/run/netns/none",
            "CNI_IFNAME": ifname, "CNI_PATH": "/nonexistent", **extra}


def netconf(data_dir: Path, version: str = "1.1.0", ranges: Any = None,
            **top: Any) -> dict[str, Any]:
    ipam = {"type": "berth-host-local", "dataDir": str(data_dir),
            "ranges": ranges or [[{"subnet": "10.8.0.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}
    return {"cniVersion": version, "name": "hl", "type": "berth-bridge", "ipam": ipam, **top}


def call(e: dict[str, str], conf: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    out = io.StringIO()
    code = dispatch(HostLocal(), e, json.dumps(conf).encode(), out)
    return code, json.loads(out.getvalue()) if out.getvalue() else None


def held(data_dir: Path) -> dict[str, str]:
    d = data_dir / "hl"
    return {p.name: p.read_bytes().decode() for p in d.iterdir()
            if not p.name.startswith(("last", "lock"))}


@pytest.mark.parametrize("version", VERSIONS)
def test_add_writes_one_file_per_ip_and_del_releases(tmp_path: Path, version: str) -> None:
    code, out = call(env("ADD"), netconf(tmp_path, version))
    assert code == 0 and out is not None
    assert out["ips"][0]["address"] == "10.8.0.2/24"
    assert out["ips"][0]["gateway"] == "10.8.0.1"
    assert out["routes"] == [{"dst": "0.0.0.0/0"}]
    assert held(tmp_path) == {"10.8.0.2": "ctr1\r\neth0"}
    assert (tmp_path / "hl" / "last_reserved_ip.0").read_text() == "10.8.0.2"
    for _ in range(2):  # DEL is idempotent
        assert call(env("DEL"), netconf(tmp_path, version)) == (0, None)
    assert held(tmp_path) == {}


def test_del_releases_only_the_named_interface(tmp_path: Path) -> None:
    call(env("ADD", ifname="eth0"), netconf(tmp_path))
    call(env("ADD", ifname="net1"), netconf(tmp_path))
    call(env("DEL", ifname="eth0"), netconf(tmp_path))
    assert list(held(tmp_path).values()) == ["ctr1\r\nnet1"]


@pytest.mark.parametrize(
    ("e", "top", "want"),
    [
        ({"CNI_ARGS": "IP=10.8.0.77"}, {}, "10.8.0.77/24"),
        ({}, {"args": {"cni": {"ips": ["10.8.0.78"]}}}, "10.8.0.78/24"),
        ({}, {"runtimeConfig": {"ips": ["10.8.0.79/24"]}}, "10.8.0.79/24"),
    ],
)
def test_requested_ip_sources(tmp_path: Path, e: dict[str, str], top: dict[str, Any],
                              want: str) -> None:
    code, out = call(env("ADD", **e), netconf(tmp_path, **top))
    assert code == 0 and out is not None
    assert out["ips"][0]["address"] == want


@pytest.mark.parametrize(
    ("e", "top", "field"),
    [
        ({"CNI_ARGS": "IP=10.9.0.5"}, {}, "CNI_ARGS IP"),
        ({}, {"args": {"cni": {"ips": ["10.9.0.5"]}}}, "args.cni.ips[0]"),
        ({}, {"runtimeConfig": {"ips": ["192.168.1.1/24"]}}, "runtimeConfig.ips[0]"),
    ],
)
def test_requested_ip_outside_the_range_is_a_clear_error(
    tmp_path: Path, e: dict[str, str], top: dict[str, Any], field: str
) -> None:
    code, out = call(env("ADD", **e), netconf(tmp_path, **top))
    assert code == 1 and out is not None
    assert out["msg"].startswith(f"{field}: requested IP address")
    assert "outside the configured ranges" in out["msg"]
    assert "10.8.0.1-10.8.0.254" in out["details"]


def test_unknown_cni_args_need_ignore_unknown(tmp_path: Path) -> None:
    code, out = call(env("ADD", CNI_ARGS="K8S_POD_NAME=p"), netconf(tmp_path))
    assert code == 1 and out is not None and out["code"] == 4 and "K8S_POD_NAME" in out["msg"]
    code, _ = call(env("ADD", CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=p"), netconf(tmp_path))
    assert code == 0


def test_ipv6_and_dual_stack(tmp_path: Path) -> None:
    ranges = [[{"subnet": "10.8.0.0/24"}], [{"subnet": "fd00:8::/64"}]]
    code, out = call(env("ADD"), netconf(tmp_path, ranges=ranges))
    assert code == 0 and out is not None
    assert [ip["address"] for ip in out["ips"]] == ["10.8.0.2/24", "fd00:8::2/64"]
    assert sorted(held(tmp_path)) == ["10.8.0.2", "fd00:8::2"]


def test_resolv_conf_becomes_the_result_dns(tmp_path: Path) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 10.96.0.10\nsearch a.svc b.svc\noptions ndots:5\n")
    conf = netconf(tmp_path)
    conf["ipam"]["resolvConf"] = str(resolv)
    _, out = call(env("ADD"), conf)
    assert out is not None
    assert out["dns"] == {"nameservers": ["10.96.0.10"], "search": ["a.svc", "b.svc"],
                          "options": ["ndots:5"]}


def test_check_status_and_gc(tmp_path: Path) -> None:
    ranges = [[{"subnet": "10.8.0.0/30"}]]  # one usable address
    _, out = call(env("ADD", cid="a"), netconf(tmp_path, ranges=ranges))
    conf = netconf(tmp_path, ranges=ranges, prevResult=out)
    assert call(env("CHECK", cid="a"), conf) == (0, None)
    code, err = call(env("CHECK", cid="b"), conf)
    assert code == 1 and err is not None
    code, err = call(env("STATUS"), netconf(tmp_path, ranges=ranges))
    assert code == 1 and err is not None and err["code"] == 50
    gc = netconf(tmp_path, ranges=ranges)
    gc["cni.dev/valid-attachments"] = [{"containerID": "a", "ifname": "eth0"}]
    assert call(env("GC"), gc) == (0, None)
    assert len(held(tmp_path)) == 1
    gc["cni.dev/valid-attachments"] = []
    assert call(env("GC"), gc) == (0, None)
    assert held(tmp_path) == {}
    assert call(env("STATUS"), netconf(tmp_path, ranges=ranges)) == (0, None)


def exec_plugin(binary: Path, e: dict[str, str], conf: dict[str, Any]
                ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(binary)], input=json.dumps(conf).encode(), capture_output=True,
                          env={**os.environ, **e}, timeout=60, check=False)


@pytest.mark.slow  # 200 plugin processes: seconds, more under load; not in the unit tier
def test_100_concurrent_adds_get_distinct_ips_and_100_dels_free_them(tmp_path: Path) -> None:
    conf = netconf(tmp_path)

    def add(n: int) -> str:
        proc = exec_plugin(BIN, env("ADD", cid=f"pod{n}"), conf)
        assert proc.returncode == 0, proc.stdout
        return str(json.loads(proc.stdout)["ips"][0]["address"])

    def delete(n: int) -> int:
        return exec_plugin(BIN, env("DEL", cid=f"pod{n}"), conf).returncode

    with ThreadPoolExecutor(16) as pool:
        ips = list(pool.map(add, range(100)))
        assert len(set(ips)) == 100
        assert len(held(tmp_path)) == 100
        assert list(pool.map(delete, range(100))) == [0] * 100
    assert held(tmp_path) == {}


@pytest.mark.skipif(not REFERENCE.exists(), reason="reference CNI plugins not installed")
def test_files_are_shared_with_the_reference_host_local(tmp_path: Path) -> None:
    conf = netconf(tmp_path, "1.0.0")
    ref = exec_plugin(REFERENCE, env("ADD", cid="ref"), conf)
    assert ref.returncode == 0, ref.stdout
    # berth sees the reference's reservation and continues the round robin after it
    _, out = call(env("ADD", cid="berth"), conf)
    assert out is not None and out["ips"][0]["address"] == "10.8.0.3/24"
    # and each releases the other's files
    assert exec_plugin(REFERENCE, env("DEL", cid="berth"), conf).returncode == 0
    assert call(env("DEL", cid="ref"), conf) == (0, None)
    assert held(tmp_path) == {}
