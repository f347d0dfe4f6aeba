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

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.cni.install import install
from berth.cni.server import FastPathServer, decode_request
from berth.host.netlink import Netlink

from .oci_images import build_pause_archive

pytestmark = [pytest.mark.root, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("containerd") is None,
                                 reason="containerd is not installed")]

SANDBOX_IMAGE = "berth.local/pause:test"


class RecordingServer(FastPathServer):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.calls: list[tuple[str, str, str, bool]] = []

    def handle(self, data: bytes, ns_fd: int | None) -> tuple[int, bytes]:
        plugin, env, stdin = decode_request(data)
        prev = "prevResult" in (json.loads(stdin) if stdin.strip() else {})
        self.calls.append((plugin, env.get("CNI_COMMAND", ""), env.get("CNI_NETNS", ""), prev))
        return super().handle(data, ns_fd)


def config_toml(work: Path, bin_dir: Path, conf_dir: Path) -> str:
    return f"""version = 2
root = "{work}/root"
state = "{work}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{work}/containerd.sock"
[ttrpc]
  address = "{work}/containerd.sock.ttrpc"
[debug]
  address = "{work}/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "{work}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{SANDBOX_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{bin_dir}"
    conf_dir = "{conf_dir}"
"""


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-ctrd-"))  # short: unix socket paths
    try:
        yield path
    finally:
        subprocess.run(["umount", "-R", "-l", str(path)], capture_output=True, check=False)
        shutil.rmtree(path, ignore_errors=True)


def wait_for(path: Path, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"containerd did not start: {log.read_text()[-3000:]}")
        time.sleep(0.05)


def test_containerd_runs_sandboxes_on_berths_plugins(work: Path, node: str) -> None:
    grpc = pytest.importorskip("grpc")
    from cri_api.v1 import api_pb2, api_pb2_grpc

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
    cfg = work / "config.toml"
    cfg.write_text(config_toml(work, bin_dir, conf_dir))
    sock = work / "containerd.sock"
    archive = build_pause_archive(work / "image")
    server = RecordingServer(str(work / "cni.sock"))
    server.start()
    log = work / "containerd.log"
    env = {"PATH": os.environ["PATH"], "BERTH_CNI_SOCKET": server.path}
    with log.open("wb") as out:
        proc = subprocess.Popen(["nsenter", f"--net={node}", "containerd", "--config", str(cfg)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    channel = None
    sandbox_ids: list[str] = []
    try:
        wait_for(sock, proc, log)
        subprocess.run(["ctr", "--address", str(sock), "-n", "k8s.io", "images", "import",
                        "--base-name", SANDBOX_IMAGE.split(":")[0], "--digests",
                        "--index-name", SANDBOX_IMAGE, str(archive)],
                       check=True, capture_output=True)
        channel = grpc.insecure_channel(f"unix://{sock}")
        runtime = api_pb2_grpc.RuntimeServiceStub(channel)
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
        if channel is not None:
            runtime = api_pb2_grpc.RuntimeServiceStub(channel)
            for sid in sandbox_ids:
                for call, req in ((runtime.StopPodSandbox, api_pb2.StopPodSandboxRequest),
                                  (runtime.RemovePodSandbox, api_pb2.RemovePodSandboxRequest)):
                    with contextlib.suppress(grpc.RpcError):
                        call(req(pod_sandbox_id=sid), timeout=60)
            channel.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.stop()


