"""The CNI client (libcni role) against recording plugins: chains, versions, cache, GC."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.cni.client import Attachment, CNIClient, RuntimeConf, pod_args
from berth.cni.confdir import NetworkConfigList, load_conf_bytes
from berth.cni.errors import (
    IncompatibleVersion,
    PluginError,
    PluginNotFound,
    PluginTimeout,
    UnknownContainer,
)

VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]
FAKE = Path(__file__).with_name("fakeplugin.py")


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "bin"
    d.mkdir()
    body = f"#!{sys.executable} -IS\n" + FAKE.read_text()
    for name in ("first", "second", "third", "old"):
        (d / name).write_text(body)
        (d / name).chmod(0o755)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "log.jsonl"))
    return d


def calls(tmp_path: Path, skip_version: bool = True) -> list[dict[str, Any]]:
    path = tmp_path / "log.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [c for c in lines if not (skip_version and c["command"] == "VERSION")]


def network(version: str = "1.1.0", **extra: Any) -> NetworkConfigList:
    plugins = extra.pop("plugins", None) or [
        {"type": "first", "ip": "10.1.0.5/24", "capabilities": {"portMappings": True}},
        {"type": "second", "capabilities": {"ips": True}},
        {"type": "third"},
    ]
    data = {"cniVersion": version, "name": "testnet", "plugins": plugins, **extra}
    return load_conf_bytes(json.dumps(data).encode(), "testnet.conflist")


@pytest.fixture
def client(bin_dir: Path, tmp_path: Path) -> Iterator[CNIClient]:
    yield CNIClient([str(tmp_path / "missing"), str(bin_dir)], str(tmp_path / "cache"),
                    timeout=5)


RT = RuntimeConf("ctr1", "/run/netns/pod1", "eth0", pod_args("default", "web", "ctr1", "uid-1"),
                 {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
                  "ips": ["10.1.0.9/24"], "bandwidth": {"ingressRate": 1}})


@pytest.mark.parametrize("version", VERSIONS)
def test_add_runs_the_chain_in_order_threading_prev_result(
    client: CNIClient, tmp_path: Path, version: str
) -> None:
    result = client.add(network(version), RT)
    assert result.cni_version == version
    assert [str(ip.address) for ip in result.ips] == ["10.1.0.5/24"]
    log = calls(tmp_path)
    assert [(c["plugin"], c["command"]) for c in log] == [
        ("first", "ADD"), ("second", "ADD"), ("third", "ADD")]
    first, second, third = (c["conf"] for c in log)
    assert "prevResult" not in first
    assert second["prevResult"]["ips"][0]["address"] == "10.1.0.5/24"
    assert ("version" in second["prevResult"]["ips"][0]) is (version < "1.0.0")
    assert all(c["name"] == "testnet" and c["cniVersion"] == version for c in (first, second))
    # runtimeConfig carries only the capabilities each plugin declares
    assert first["runtimeConfig"] == {"portMappings": RT.capability_args["portMappings"]}
    assert second["runtimeConfig"] == {"ips": ["10.1.0.9/24"]}
    assert "runtimeConfig" not in third
    env = log[0]["env"]
    assert env["CNI_ARGS"] == ("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                               "K8S_POD_INFRA_CONTAINER_ID=ctr1;K8S_POD_UID=uid-1")
    assert (env["CNI_CONTAINERID"], env["CNI_NETNS"], env["CNI_IFNAME"]) == (
        "ctr1", "/run/netns/pod1", "eth0")


def test_result_cache_survives_a_restart_and_feeds_del_in_reverse(
    client: CNIClient, bin_dir: Path, tmp_path: Path
) -> None:
    net = network()
    client.add(net, RT)
    cached = json.loads((tmp_path / "cache/results/testnet-ctr1-eth0").read_text())
    assert cached["kind"] == "cniCacheV1"
    assert cached["result"]["ips"][0]["address"] == "10.1.0.5/24"
    assert cached["cniArgs"][0] == ["IgnoreUnknown", "1"]
    restarted = CNIClient([str(bin_dir)], str(tmp_path / "cache"))
    restarted.check(net, RT)
    restarted.delete(net, RT)
    log = [c for c in calls(tmp_path) if c["command"] in ("CHECK", "DEL")]
    assert [c["plugin"] for c in log] == ["first", "second", "third", "third", "second", "first"]
    assert all(c["conf"]["prevResult"]["ips"][0]["address"] == "10.1.0.5/24" for c in log)
    assert not (tmp_path / "cache/results/testnet-ctr1-eth0").exists()
    with pytest.raises(UnknownContainer):
        restarted.check(net, RT)
    restarted.delete(net, RT)  # DEL without a cached result still works


def test_old_plugin_results_are_converted(client: CNIClient) -> None:
    net = network("1.0.0", plugins=[{"type": "first", "ip": "10.1.0.5/24",
                                     "resultVersion": "0.3.1"}])
    result = client.add(net, RT)
    assert result.cni_version == "1.0.0"
    assert result.to_dict()["ips"] == [{"address": "10.1.0.5/24", "gateway": "10.1.0.1"}]


def test_version_negotiation(client: CNIClient) -> None:
    old = {"type": "old"}
    assert client.negotiate(network("1.0.0", plugins=[old])) == "1.0.0"
    both = network("", cniVersions=["0.4.0", "1.1.0", "1.0.0"], plugins=[old])
    assert client.negotiate(both) == "1.0.0"
    with pytest.raises(IncompatibleVersion, match="plugin old supports none of"):
        client.negotiate(network("1.1.0", plugins=[old]))
    with pytest.raises(IncompatibleVersion):
        client.negotiate(network("0.2.0", plugins=[old]))


def test_plugin_errors_are_typed_and_a_failed_add_is_undone(
    client: CNIClient, tmp_path: Path
) -> None:
    net = network(plugins=[{"type": "first"}, {"type": "second", "fail": "ADD", "code": 11}])
    with pytest.raises(PluginError) as info:
        client.add(net, RT)
    assert (info.value.plugin, info.value.code, info.value.msg, info.value.details) == (
        "second", 11, "fake failure", "ADD refused")
    assert [(c["plugin"], c["command"]) for c in calls(tmp_path)] == [
        ("first", "ADD"), ("second", "ADD"), ("second", "DEL"), ("first", "DEL")]
    assert not (tmp_path / "cache/results/testnet-ctr1-eth0").exists()


def test_missing_plugin_and_timeout(client: CNIClient) -> None:
    with pytest.raises(PluginNotFound, match="nope"):
        client.add(network(plugins=[{"type": "nope"}]), RT)
    client.timeout = 0.5
    with pytest.raises(PluginTimeout) as info:
        client.add(network(plugins=[{"type": "first", "sleep": 3}]), RT)
    assert info.value.code == 11


def test_status_only_from_1_1_0(client: CNIClient, tmp_path: Path) -> None:
    client.status(network("1.0.0", plugins=[{"type": "first", "fail": "STATUS"}]))
    assert calls(tmp_path) == []
    with pytest.raises(PluginError) as info:
        client.status(network("1.1.0", plugins=[{"type": "first", "fail": "STATUS",
                                                 "code": 50}]))
    assert info.value.code == 50


def test_gc_deletes_stale_cached_attachments_then_gcs_plugins(
    client: CNIClient, tmp_path: Path
) -> None:
    net = network(plugins=[{"type": "first", "ip": "10.1.0.5/24"}])
    for cid in ("keep", "stale"):
        client.add(net, RuntimeConf(cid, f"/run/netns/{cid}"))
    client.gc(net, [Attachment("keep", "eth0")])
    log = calls(tmp_path)[2:]
    assert [(c["command"], c["env"].get("CNI_CONTAINERID")) for c in log] == [
        ("DEL", "stale"), ("GC", None)]
    assert log[0]["env"]["CNI_NETNS"] == "/run/netns/stale"
    assert log[1]["conf"]["cni.dev/valid-attachments"] == [
        {"containerID": "keep", "ifname": "eth0"}]
    assert sorted(os.listdir(tmp_path / "cache/results")) == ["testnet-keep-eth0"]


def test_chain_with_real_berth_host_local(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "berth-host-local").exists():
        pytest.skip("berth-host-local console script not installed")
    net = network("1.1.0", plugins=[{"type": "berth-host-local", "ipam": {
        "type": "berth-host-local", "dataDir": str(tmp_path / "ipam"),
        "ranges": [[{"subnet": "10.3.0.0/24"}]]}}])
    client = CNIClient([str(bin_dir)], str(tmp_path / "cache"))
    rt = RuntimeConf("c1", "/run/netns/x", args=(("IgnoreUnknown", "1"),))
    assert str(client.add(net, rt).ips[0].address) == "10.3.0.2/24"
    client.check(net, rt)
    client.status(net)
    client.gc(net, [])
    assert [p.name for p in (tmp_path / "ipam/testnet").iterdir()] == ["last_reserved_ip.0"]
    shutil.rmtree(tmp_path / "ipam")
