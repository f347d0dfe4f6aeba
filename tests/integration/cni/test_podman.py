"""podman (network_backend = "cni") runs containers on a berth network.

podman runs inside a node namespace the test creates (``nsenter --net`` only), with a
private containers.conf (CONTAINERS_CONF: the CNI backend, berth's bin dir and a private
network_config_dir, default_ulimits for nofile and nproc), private storage root and
runroot, and an image imported from a busybox-static rootfs.  Two containers on the
berth network get addresses from berth-host-local and reach each other across the
bridge.  /etc/cni/net.d (podman's own default network) is neither read nor touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.cni.install import install
from berth.cni.server import FastPathServer
from berth.host.netlink import Netlink

pytestmark = [pytest.mark.root, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")]

IMAGE = "berth.local/busybox:test"


class Podman:
    def __init__(self, work: Path, node: str, env: dict[str, str]) -> None:
        self.work, self.node, self.env = work, node, env

    def __call__(self, *args: str, check: bool = True) -> str:
        cmd = ["nsenter", f"--net={self.node}", "podman", "--root", str(self.work / "storage"),
               "--runroot", str(self.work / "run"), "--tmpdir", str(self.work / "tmp"),
               "--cgroup-manager", "cgroupfs", "--events-backend", "file",
               "--storage-driver", "overlay", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=120,
                              check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout


def busybox_rootfs(path: Path) -> Path:
    archive = path / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add("/bin/busybox", "bin/busybox")
        for applet in ("sh", "sleep", "ping", "ip", "cat"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    return archive


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-podman-"))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-R", "-l", str(path / "storage" / "overlay")],
                       capture_output=True, check=False)
        shutil.rmtree(path, ignore_errors=True)


def test_podman_runs_containers_on_a_berth_network(work: Path, node: str) -> None:
    bin_dir, conf_dir = work / "bin", work / "net.d"
    install(bin_dir)
    shutil.copy2("/usr/lib/cni/loopback", bin_dir / "loopback")
    conf_dir.mkdir()
    (conf_dir / "berthpod.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0", "name": "berthpod", "plugins": [
            {"type": "berth-bridge", "bridge": "bthpod0", "isGateway": True,
             "isDefaultGateway": True,
             "ipam": {"type": "berth-host-local", "dataDir": str(work / "ipam"),
                      "ranges": [[{"subnet": "10.244.61.0/24"}]]}},
            {"type": "berth-portmap", "capabilities": {"portMappings": True}}]}))
    (work / "containers.conf").write_text(f"""[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["{bin_dir}"]
network_config_dir = "{conf_dir}"
default_network = "berthpod"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
""")
    for sub in ("storage", "run", "tmp"):
        (work / sub).mkdir()
    server = FastPathServer(str(work / "cni.sock"))
    server.start()
    env = {"PATH": os.environ["PATH"], "HOME": str(work), "BERTH_CNI_SOCKET": server.path,
           "CONTAINERS_CONF": str(work / "containers.conf"),
           "CONTAINERS_STORAGE_CONF": str(work / "storage.conf"),
           "CONTAINERS_REGISTRIES_CONF": str(work / "registries.conf")}
    (work / "storage.conf").write_text(f'[storage]\ndriver = "overlay"\n'
                                       f'runroot = "{work}/run"\ngraphroot = "{work}/storage"\n')
    (work / "registries.conf").write_text("")
    podman = Podman(work, node, env)
    started: list[str] = []
    try:
        podman("import", str(busybox_rootfs(work)), IMAGE)
        ips = []
        for name in ("berth-a", "berth-b"):
            podman("run", "-d", "--name", name, "--network", "berthpod", "--cap-add",
                   "NET_RAW", IMAGE, "sleep", "300")
            started.append(name)
            data = json.loads(podman("inspect", name))
            ip = data[0]["NetworkSettings"]["Networks"]["berthpod"]["IPAddress"]
            assert ip.startswith("10.244.61."), data[0]["NetworkSettings"]
            ips.append(ip)
        assert ip in podman("exec", "berth-b", "ip", "-4", "addr", "show", "eth0")
        assert "1 packets received" in podman("exec", "berth-b", "ping", "-c", "1", "-W", "2",
                                              ips[0])
        with Netlink.open(node) as nl:
            assert nl.require_link("bthpod0").kind == "bridge"
        held = sorted(f for f in os.listdir(work / "ipam" / "berthpod") if f[0].isdigit())
        assert held == sorted(ips)
        podman("rm", "-f", "-t", "0", *started)
        started.clear()
        assert [f for f in os.listdir(work / "ipam" / "berthpod") if f[0].isdigit()] == []
    finally:
        if started:
            podman("rm", "-f", "-t", "0", *started, check=False)
        server.stop()
