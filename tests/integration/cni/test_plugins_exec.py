"""berth's plugins exec'd as a runtime runs them: bad input, loopback, SIGKILL + GC, scale."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from berth.cni.install import install
from berth.cni.server import FastPathServer
from berth.host import netns
from berth.host.netlink import Netlink

from .conftest import BIN_DIRS, MakeNetns

pytestmark = pytest.mark.root

BRIDGE = os.path.join(BIN_DIRS[0], "berth-bridge")
LOOPBACK = os.path.join(BIN_DIRS[0], "berth-loopback")


def netconf(tmp_path: Path, version: str = "1.1.0", subnet: str = "10.244.2.0/24",
            **top: Any) -> dict[str, Any]:
    return {"cniVersion": version, "name": "execnet", "type": "berth-bridge",
            "bridge": "bthbr1", "isGateway": True,
            "ipam": {"type": "berth-host-local", "dataDir": str(tmp_path / "ipam"),
                     "ranges": [[{"subnet": subnet}]]}, **top}


def cni_env(command: str, cid: str, pod: str, ifname: str = "eth0", **extra: str
            ) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "CNI_COMMAND": command, "CNI_CONTAINERID": cid,
            "CNI_NETNS": pod, "CNI_IFNAME": ifname, "CNI_PATH": ":".join(BIN_DIRS), **extra}


def run(node: str, binary: str, env: dict[str, str], stdin: bytes | dict[str, Any]
        ) -> tuple[int, dict[str, Any] | None, str]:
    data = stdin if isinstance(stdin, bytes) else json.dumps(stdin).encode()
    with netns.entered(node):
        proc = subprocess.run([binary], input=data, env=env, capture_output=True, timeout=60,
                              check=False)
    out = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, out, proc.stderr.decode()


def ip_files(tmp_path: Path) -> list[str]:
    d = tmp_path / "ipam" / "execnet"
    return sorted(p.name for p in d.iterdir() if p.name[0].isdigit()) if d.exists() else []


def bridge_ports(node: str, bridge: str = "bthbr1") -> list[str]:
    with Netlink.open(node) as nl:
        br = nl.get_link(bridge)
        return [] if br is None else sorted(
            link.name for link in nl.links() if link.master == br.index)


def drop(env: dict[str, str], var: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != var}


BAD_INPUT = [
    # (name, env changes, stdin changes or raw bytes, code, text the message must contain)
    ("malformed JSON", {}, b'{"cniVersion": "1.0.0", ', 6, "stdin: invalid JSON"),
    ("missing CNI_NETNS", {"drop": "CNI_NETNS"}, {}, 4, "CNI_NETNS"),
    ("missing CNI_CONTAINERID", {"drop": "CNI_CONTAINERID"}, {}, 4, "CNI_CONTAINERID"),
    ("missing CNI_COMMAND", {"drop": "CNI_COMMAND"}, {}, 4, "CNI_COMMAND"),
    ("unknown cniVersion", {}, {"cniVersion": "2.0.0"}, 1, "incompatible CNI versions"),
    ("bad CIDR", {}, {"subnet": "10.244.2.0/33"}, 7, "ipam.ranges[0][0].subnet: invalid CIDR"),
    ("requested IP outside range", {"CNI_ARGS": "IP=10.9.9.9"}, {}, 7,
     "CNI_ARGS IP: requested IP address 10.9.9.9 is outside the configured ranges"),
    ("ifname over 15", {"CNI_IFNAME": "eth0123456789012"}, {}, 4,
     "CNI_IFNAME: interface name is too long"),
    ("netns missing", {"CNI_NETNS": "/run/netns/berth-t-does-not-exist"}, {}, 4, "CNI_NETNS"),
    ("mtu not a number", {}, {"mtu": "big"}, 7, "mtu: expected an integer"),
    ("bridge name too long", {}, {"bridge": "bth-much-too-long"}, 7, "bridge: invalid"),
    ("ipam type missing", {}, {"ipam": {"ranges": [[{"subnet": "10.0.0.0/24"}]]}}, 7,
     "ipam.type"),
]


@pytest.fixture(params=["in-process", "served"])
def bridge_bin(request: pytest.FixtureRequest, tmp_path: Path
               ) -> Iterator[tuple[str, dict[str, str]]]:
    """The console script with the fast path off, or an installed plugin and a server."""
    if request.param == "in-process":
        yield BRIDGE, {"BERTH_CNI_SOCKET": "off"}
        return
    install(tmp_path / "bin")
    with FastPathServer(str(tmp_path / "cni.sock")) as server:
        yield str(tmp_path / "bin" / "berth-bridge"), {"BERTH_CNI_SOCKET": server.path}


@pytest.mark.parametrize(("env_change", "stdin_change", "code", "needle"),
                         [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
def test_bad_input_gives_code_and_message_naming_the_field(
    tmp_path: Path, node: str, make_netns: MakeNetns, env_change: dict[str, str],
    stdin_change: dict[str, Any] | bytes, code: int, needle: str,
    bridge_bin: tuple[str, dict[str, str]]
) -> None:
    pod = make_netns("pod")
    binary, extra = bridge_bin
    env = cni_env("ADD", "ctr1", pod, **extra)
    env_change = dict(env_change)
    if "drop" in env_change:
        env = drop(env, env_change.pop("drop"))
    env.update(env_change)
    stdin: dict[str, Any] | bytes
    if isinstance(stdin_change, bytes):
        stdin = stdin_change
    else:
        change = dict(stdin_change)
        stdin = netconf(tmp_path, subnet=change.pop("subnet", "10.244.2.0/24"))
        stdin.update(change)
    status, out, stderr = run(node, binary, env, stdin)
    assert status == 1
    assert out is not None and out["code"] == code, out
    assert needle in out["msg"]
    assert "Traceback" not in stderr
    assert ip_files(tmp_path) == []
    assert bridge_ports(node) == []


def test_loopback_add_check_del(node: str, make_netns: MakeNetns, tmp_path: Path) -> None:
    pod = make_netns("pod")
    conf = {"cniVersion": "1.0.0", "name": "lo", "type": "berth-loopback"}
    status, out, _ = run(node, LOOPBACK, cni_env("ADD", "c1", pod, "lo"), conf)
    assert status == 0 and out is not None
    assert out["ips"] == [{"interface": 0, "address": "127.0.0.1/8"},
                          {"interface": 0, "address": "::1/128"}]
    with Netlink.open(pod) as nl:
        assert nl.require_link("lo").up
    conf_check = {**conf, "prevResult": out}
    assert run(node, LOOPBACK, cni_env("CHECK", "c1", pod, "lo"), conf_check)[0] == 0
    assert run(node, LOOPBACK, cni_env("DEL", "c1", pod, "lo"), conf)[0] == 0
    with Netlink.open(pod) as nl:
        assert not nl.require_link("lo").up
    netns.delete_netns(pod)
    assert run(node, LOOPBACK, cni_env("DEL", "c1", pod, "lo"), conf)[0] == 0
    assert run(node, LOOPBACK, cni_env("DEL", "c1", "", "lo"), conf)[0] == 0


def test_adds_killed_midway_then_gc_leaves_only_the_valid_set(
    tmp_path: Path, node: str, make_netns: MakeNetns
) -> None:
    conf = netconf(tmp_path)
    pods = [make_netns(f"k{n}") for n in range(8)]
    for n in range(3):
        status, out, _ = run(node, BRIDGE, cni_env("ADD", f"c{n}", pods[n]), conf)
        assert status == 0, out
    with netns.entered(node):
        victims = [subprocess.Popen([BRIDGE], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    env=cni_env("ADD", f"c{n}", pods[n]))
                   for n in range(3, 8)]
    for proc in victims:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(conf).encode())
        proc.stdin.close()
    for n, proc in enumerate(victims):
        time.sleep(0.06 * n)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    gc = {**conf, "cni.dev/valid-attachments": [
        {"containerID": f"c{n}", "ifname": "eth0"} for n in range(3)]}
    status, out, _ = run(node, BRIDGE, cni_env("GC", "", ""), gc)
    assert status == 0, out
    assert ip_files(tmp_path) == ["10.244.2.2", "10.244.2.3", "10.244.2.4"]
    assert len(bridge_ports(node)) == 3
    for n in range(3):
        assert run(node, BRIDGE, cni_env("DEL", f"c{n}", pods[n]), conf)[0] == 0
    assert ip_files(tmp_path) == []
    assert bridge_ports(node) == []


@pytest.mark.slow
def test_100_concurrent_bridge_adds_then_dels(tmp_path: Path, node: str,
                                              make_netns: MakeNetns) -> None:
    conf = netconf(tmp_path, subnet="10.244.3.0/24")
    pods = [make_netns(f"s{n}") for n in range(100)]

    def add(n: int) -> str:
        status, out, _ = run(node, BRIDGE, cni_env("ADD", f"c{n}", pods[n]), conf)
        assert status == 0 and out is not None, out
        return str(out["ips"][0]["address"])

    def delete(n: int) -> int:
        return run(node, BRIDGE, cni_env("DEL", f"c{n}", pods[n]), conf)[0]

    with ThreadPoolExecutor(16) as pool:
        ips = list(pool.map(add, range(100)))
        assert len(set(ips)) == 100
        assert len(bridge_ports(node)) == 100
        assert list(pool.map(delete, range(100))) == [0] * 100
    assert ip_files(tmp_path) == []
    assert bridge_ports(node) == []
