"""containerd 1.6 (CRI) runs pod sandboxes networked by berth's plugins, as installed by
``berth cni install``.

containerd runs inside a node namespace the test creates (``nsenter --net`` only, so
it keeps the host's mounts), with root, state and sockets in a private directory and
``restrict_oom_score_adj = true``; its CRI plugin's bin_dir holds berth's plugins (plus
the reference loopback containerd itself calls) and conf_dir a berth conflist.  The
fast-path server runs in the test process and records each call, so the test sees
containerd's two DELs: one with the netns and prevResult, one with neither.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.cni.install import install
from berth.cni.server import FastPathServer, decode_request
from berth.host.netlink import Netlink
from berth.testing.containerd import PAUSE_IMAGE, Containerd, build_pause_layout, tar_layout

pytestmark = [pytest.mark.root, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("containerd") is None,
                                 reason="containerd is not installed")]

PAUSE = Path(__file__).resolve().parents[3] / "berth" / "host" / "bin" / "berth-pause"


class RecordingServer(FastPathServer):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.calls: list[tuple[str, str, str, bool]] = []

    def handle(self, data: bytes, ns_fd: int | None) -> tuple[int, bytes]:
        plugin, env, stdin = decode_request(data)
        prev = "prevResult" in (json.loads(stdin) if stdin.strip() else {})
        self.calls.append((plugin, env.get("CNI_COMMAND", ""), env.get("CNI_NETNS", ""), prev))
        return super().handle(data, ns_fd)


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-ctrd-"))  # short: unix socket paths
    try:
        yield path
    finally:
        subprocess.run(["umount", "-R", "-l", str(path)], capture_output=True, check=False)
        shutil.rmtree(path, ignore_errors=True)


def test_containerd_runs_sandboxes_on_berths_plugins(work: Path, node: str) -> None:
    pytest.importorskip("grpc")
    from cri_api.v1 import api_pb2

    bin_dir, conf_dir = work / "bin", work / "net.d"
    install(bin_dir)
    shutil.copy2("/usr/lib/cni/loopback", bin_dir / "loopback")
    conf_dir.mkdir()
    (conf_dir / "10-berth.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0", "name": "berth-ctrd", "plugins": [
            {"type": "berth-bridge", "bridge": "bthctrd0", "isGateway": True,
             "isDefaultGateway": True,
             "ipam": {"type": "berth-host-local", "dataDir": str(work / "ipam"),
                      "ranges": [[{"subnet": "10.244.60.0/24"}]]}},
            {"type": "berth-portmap", "capabilities": {"portMappings": True}}]}))
    build_pause_layout(work / "image", PAUSE)
    archive = tar_layout(work / "image", work / "pause.tar")
    server = RecordingServer(str(work / "cni.sock"))
    server.start()
    ctrd = Containerd(work / "ctrd", node, bin_dir, conf_dir,
                      env={"BERTH_CNI_SOCKET": server.path})
    sandbox_ids: list[str] = []
    try:
        ctrd.start()
        ctrd.import_archive(archive, PAUSE_IMAGE)
        runtime = ctrd.runtime()
        ips: list[str] = []
        for n in range(2):
            cfg_pb = api_pb2.PodSandboxConfig(
                metadata=api_pb2.PodSandboxMetadata(name=f"pod{n}", uid=f"uid-{n}",
                                                    namespace="default", attempt=0),
                hostname=f"pod{n}", log_directory=str(work / "logs"),
                linux=api_pb2.LinuxPodSandboxConfig())
            reply = runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=cfg_pb),
                                          timeout=60)
            sandbox_ids.append(reply.pod_sandbox_id)
            status = runtime.PodSandboxStatus(api_pb2.PodSandboxStatusRequest(
                pod_sandbox_id=reply.pod_sandbox_id, verbose=True), timeout=30)
            ip = status.status.network.ip
            assert ip.startswith("10.244.60."), status
            ips.append(ip)
            info = json.loads(status.info["info"])
            ns_path = next(ns["path"] for ns in info["runtimeSpec"]["linux"]["namespaces"]
                           if ns["type"] == "network")
            with Netlink.open(ns_path) as nl:
                eth0 = nl.require_link("eth0")
                assert [str(a.ip) for a in nl.addrs(eth0.index) if a.version == 4] == [ip]
        assert sorted(os.listdir(work / "ipam" / "berth-ctrd")) >= sorted(ips)
        with Netlink.open(node) as nl:
            assert nl.require_link("bthctrd0").kind == "bridge"
        for sid in sandbox_ids:
            runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=60)
            runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=sid),
                                     timeout=60)
        sandbox_ids.clear()
        held = [f for f in os.listdir(work / "ipam" / "berth-ctrd") if f[0].isdigit()]
        assert held == []
        dels = [c for c in server.calls if c[0] == "berth-bridge" and c[1] == "DEL"]
        assert any(netns_arg and prev for _, _, netns_arg, prev in dels), dels
        assert any(not netns_arg and not prev for _, _, netns_arg, prev in dels), dels
        server.background.wait()
        with Netlink.open(node) as nl:
            assert [link.name for link in nl.links() if link.kind == "veth"] == []
    finally:
        ctrd.stop()  # removes every sandbox it still lists, then stops the daemon
        server.stop()
