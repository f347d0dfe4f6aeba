"""A private containerd 1.6 (CRI) for tests and benchmarks, started inside a berth network namespace.

containerd runs here only with ``restrict_oom_score_adj = true`` (root lacks
CAP_SYS_RESOURCE) and with its root, state, sockets and opt dir under one
private work directory, so it never touches the host's containerd.  It is
started with ``nsenter --net=<netns>`` (the network namespace alone: the
host's mounts, and so the cgroup mounts, stay visible) and calls the CNI
plugins of the ``bin_dir``/``conf_dir`` it is given.

The parts: ``plan_config`` renders config.toml (pure); ``build_pause_layout``
writes an OCI image layout holding berth's static pause binary (containerd's
``sandbox_image``), ``tar_layout`` makes it an archive for ``ctr images
import``; ``Containerd`` starts the daemon, imports images, hands out CRI v1
stubs (PyPI ``container-runtime-interface-api``) and, on ``stop``, removes
every sandbox it still lists, terminates the one PID it started, unmounts and
deletes the work directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from berth.host.mounts import unmount_under

PAUSE_IMAGE = "berth.local/pause:bench"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"


class ContainerdError(Exception):
    """containerd did not start, or a ctr command failed (the message carries its output)."""


def plan_config(work: Path, bin_dir: Path, conf_dir: Path,
                sandbox_image: str = PAUSE_IMAGE) -> str:
    """config.toml for a containerd whose every path lives under ``work``."""
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
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{bin_dir}"
    conf_dir = "{conf_dir}"
"""


def _blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def build_pause_layout(layout: Path, pause_binary: Path, name: str = PAUSE_IMAGE) -> None:
    """An OCI image layout at ``layout``: one layer with ``/pause``, entrypoint ``/pause``."""
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = pause_binary.read_bytes()
        info = tarfile.TarInfo("pause")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    layer = {"mediaType": MT_LAYER, **_blob(layout, buf.getvalue())}
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Entrypoint": ["/pause"]},
              "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}
    config_desc = {"mediaType": MT_CONFIG, **_blob(layout, json.dumps(config).encode())}
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": config_desc,
                "layers": [layer]}
    manifest_desc = {"mediaType": MT_MANIFEST, **_blob(layout, json.dumps(manifest).encode()),
                     "annotations": {"org.opencontainers.image.ref.name": name}}
    (layout / "index.json").write_text(json.dumps(
        {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [manifest_desc]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')


def tar_layout(layout: Path, archive: Path) -> Path:
    """The OCI layout directory ``layout`` as a tar archive (``ctr``/``podman load`` read it)."""
    with tarfile.open(archive, "w") as tar:
        for entry in sorted(layout.iterdir()):
            tar.add(entry, entry.name)
    return archive


class Containerd:
    """One containerd process under ``work``, in network namespace ``netns_path``."""

    def __init__(self, work: Path, netns_path: str, bin_dir: Path, conf_dir: Path,
                 env: dict[str, str] | None = None) -> None:
        self.work, self.netns_path = work, netns_path
        self.bin_dir, self.conf_dir = bin_dir, conf_dir
        self.env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                    **(env or {})}
        self.socket = work / "containerd.sock"
        self.log = work / "containerd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._channel: Any = None

    def start(self, timeout: float = 30.0) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        config = self.work / "config.toml"
        config.write_text(plan_config(self.work, self.bin_dir, self.conf_dir))
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["nsenter", f"--net={self.netns_path}", "containerd", "--config", str(config)],
                stdout=out, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise ContainerdError(f"containerd did not start: {self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def import_archive(self, archive: Path, name: str) -> None:
        """``ctr images import`` into the CRI's ``k8s.io`` namespace as ``name``."""
        proc = subprocess.run(
            ["ctr", "--address", str(self.socket), "-n", "k8s.io", "images", "import",
             "--base-name", name.rsplit(":", 1)[0], "--digests", "--index-name", name,
             str(archive)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ContainerdError(f"ctr images import {archive}: {proc.stderr.strip()}")

    def runtime(self) -> Any:
        """A CRI v1 ``RuntimeServiceStub`` over the daemon's socket."""
        import grpc
        from cri_api.v1 import api_pb2_grpc

        if self._channel is None:
            self._channel = grpc.insecure_channel(f"unix://{self.socket}")
        return api_pb2_grpc.RuntimeServiceStub(self._channel)

    def remove_all_sandboxes(self) -> None:
        import grpc
        from cri_api.v1 import api_pb2

        stub = self.runtime()
        for sandbox in stub.ListPodSandbox(api_pb2.ListPodSandboxRequest(), timeout=60).items:
            with contextlib.suppress(grpc.RpcError):
                stub.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=sandbox.id),
                                    timeout=60)
                stub.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(
                    pod_sandbox_id=sandbox.id), timeout=60)

    def stop(self) -> None:
        """Remove what it runs, stop the daemon we started, unmount and delete ``work``."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                with contextlib.suppress(Exception):
                    self.remove_all_sandboxes()
        finally:
            if self._channel is not None:
                self._channel.close()
                self._channel = None
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            unmount_under(self.work)
            shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> Containerd:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
