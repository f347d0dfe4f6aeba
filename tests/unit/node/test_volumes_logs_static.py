"""Volumes on disk, CRI log parsing, static pod manifests, node config and Node object."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from berth.cli.exec import exit_code_of
from berth.node.config import NodeConfig
from berth.node.convert import Sources
from berth.node.errors import NodeConfigError, VolumeError, VolumeSourceMissing
from berth.node.logs import parse_cri_lines, render
from berth.node.nodestatus import NodeFacts, plan_lease, plan_node
from berth.node.static import load_manifest
from berth.node.volumes import plan_mounts, setup_volumes, teardown_volumes
from tests.unit.node.test_backoff_and_actions import a_pod


def test_config_map_secret_downward_and_empty_dir_volumes(tmp_path: Path) -> None:
    pod = a_pod(["app"])
    pod["metadata"]["labels"] = {"app": "web"}
    pod["spec"]["volumes"] = [
        {"name": "cache", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "cm", "items": [{"key": "a", "path": "x/a.txt"}]}},
        {"name": "sec", "secret": {"secretName": "s", "defaultMode": 0o400}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
    ]
    sources = Sources({"cm": {"a": "alpha", "b": "beta"}}, {"s": {"token": b"t0k"}})
    if os.geteuid() != 0:
        pod["spec"]["volumes"].pop(2)  # secrets live on a tmpfs: root only
    paths = setup_volumes(pod, tmp_path, sources, "n1")
    assert (paths["cfg"] / "x" / "a.txt").read_text() == "alpha"
    assert not (paths["cfg"] / "b").exists()
    assert (paths["info"] / "name").read_text() == "p"
    assert (paths["info"] / "labels").read_text() == 'app="web"'
    if "sec" in paths:
        assert (paths["sec"] / "token").read_bytes() == b"t0k"
        assert (paths["sec"] / "token").stat().st_mode & 0o777 == 0o400
    c = {"name": "app", "volumeMounts": [
        {"name": "cache", "mountPath": "/cache", "subPath": "sub/dir"},
        {"name": "cfg", "mountPath": "/etc/cfg"}]}
    mounts = plan_mounts(pod, c, paths)
    assert mounts[0].host_path == str(paths["cache"] / "sub" / "dir") and not mounts[0].readonly
    assert (paths["cache"] / "sub" / "dir").is_dir()
    assert mounts[1].readonly
    teardown_volumes(tmp_path)
    assert not (tmp_path / "volumes").exists()


def test_volume_errors_name_the_volume(tmp_path: Path) -> None:
    pod = a_pod(["app"])
    pod["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "absent"}}]
    with pytest.raises(VolumeSourceMissing, match='volume "cfg": configmap "absent"'):
        setup_volumes(pod, tmp_path, Sources(), "n1")
    pod["spec"]["volumes"] = [{"name": "h", "hostPath": {"path": str(tmp_path / "no"),
                                                         "type": "Directory"}}]
    with pytest.raises(VolumeError, match=r'volume "h": hostPath .* does not exist'):
        setup_volumes(pod, tmp_path, Sources(), "n1")
    with pytest.raises(VolumeError, match="must be relative"):
        plan_mounts(pod, {"name": "a", "volumeMounts": [
            {"name": "h", "mountPath": "/x", "subPath": "../../etc"}]}, {"h": tmp_path})


def test_cri_log_lines_join_partials_and_render_tail_and_timestamps() -> None:
    data = (b"2026-01-01T00:00:00.000000001Z stdout P hel\n"
            b"2026-01-01T00:00:00.000000002Z stdout F lo\n"
            b"2026-01-01T00:00:01.000000000Z stderr F oops\n"
            b"2026-01-01T00:00:02.000000000Z stdout F incomp")
    lines = parse_cri_lines(data)
    assert [(x.stream, x.content) for x in lines] == [("stdout", b"hello"), ("stderr", b"oops")]
    assert render(lines) == b"hello\noops\n"
    assert render(lines, tail=1, timestamps=True) == b"2026-01-01T00:00:01.000000000Z oops\n"
    assert render(lines, since="2026-01-01T00:00:01") == b"oops\n"


def test_static_manifest_gets_node_suffix_stable_uid_and_errors_name_the_file(
        tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
                    "spec: {containers: [{name: c, image: busybox}]}\n")
    pod = load_manifest(path, "n1")
    assert pod["metadata"]["name"] == "web-n1" and pod["spec"]["nodeName"] == "n1"
    assert pod["metadata"]["uid"] == load_manifest(path, "n1")["metadata"]["uid"]
    assert pod["spec"]["restartPolicy"] == "Always"  # defaults applied
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
                    "spec: {containers: [{name: c, imagee: busybox}]}\n")
    with pytest.raises(ValueError, match=r"web.yaml.*imagee"):
        load_manifest(path, "n1")


def test_node_config_validation_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(NodeConfigError, match="--name"):
        NodeConfig(name="Bad_Name").validate()
    with pytest.raises(NodeConfigError, match="--pod-cidr"):
        NodeConfig(name="n1", pod_cidr="10.0.0.0/33").validate()
    with pytest.raises(NodeConfigError, match="--pod-manifest-path"):
        NodeConfig(name="n1", pod_manifest_path=tmp_path / "nope").validate()
    config = NodeConfig(name="n1")
    assert config.root == Path("/var/lib/berth/n1")
    assert config.cni_conf_dir == Path("/var/lib/berth/n1/cni/net.d")


def test_node_object_and_lease() -> None:
    facts = NodeFacts(cpus=2, memory_ki=1024, disk_bytes=10, kernel="6.1", os_image="Debian",
                      boot_id="b", machine_id="m", hostname="h", arch="amd64")
    node = plan_node("n1", facts, address="198.18.0.2", port=10250, runtime="runc", now=0)
    assert node["status"]["capacity"] == {"cpu": "2", "memory": "1024Ki",
                                          "ephemeral-storage": "10", "pods": "110"}
    assert node["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.31")
    later = plan_node("n1", facts, address="198.18.0.2", port=10250, runtime="runc", now=60,
                      old_conditions=node["status"]["conditions"])
    ready = next(c for c in later["status"]["conditions"] if c["type"] == "Ready")
    assert ready["lastTransitionTime"] == "1970-01-01T00:00:00Z"
    assert ready["lastHeartbeatTime"] == "1970-01-01T00:01:00Z"
    lease = plan_lease("n1", 1.5)
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["spec"]["renewTime"] == "1970-01-01T00:00:01.500000Z"


def test_exec_exit_code_from_the_status_channel() -> None:
    assert exit_code_of({"status": "Success"}) == 0
    assert exit_code_of({"status": "Failure", "reason": "NonZeroExitCode", "details": {
        "causes": [{"reason": "ExitCode", "message": "42"}]}}) == 42
    assert exit_code_of({"status": "Failure", "message": "boom"}) == 1


@pytest.mark.root
def test_memory_empty_dir_is_a_sized_tmpfs_removed_on_teardown(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    from berth.host.mounts import is_mountpoint

    pod = a_pod(["app"])
    pod["spec"]["volumes"] = [{"name": "ram", "emptyDir": {"medium": "Memory",
                                                           "sizeLimit": "8Mi"}}]
    paths = setup_volumes(pod, tmp_path, Sources(), "n1")
    try:
        assert is_mountpoint(paths["ram"])
        st = os.statvfs(paths["ram"])
        assert st.f_blocks * st.f_frsize == 8 << 20
    finally:
        teardown_volumes(tmp_path)
    assert not is_mountpoint(paths["ram"]) and not (tmp_path / "volumes").exists()


def test_berth_node_rejects_a_bad_flag_with_one_line(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    from berth.cli.main import main

    assert main(["node", "--name", "Bad_Name"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --name: 'Bad_Name' is not a valid node name")
    assert "Traceback" not in err


def test_berth_exec_reads_options_written_after_the_pod() -> None:
    from berth.cli.exec import split_command
    from berth.cli.main import build_parser

    args = build_parser().parse_args(["exec", "web", "-c", "side", "-i", "--", "sh", "-c",
                                      "echo hi"])
    assert split_command(args) == ["sh", "-c", "echo hi"]
    assert (args.container, args.stdin) == ("side", True)
