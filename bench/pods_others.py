"""bench/pods, the other side: the same pods through containerd's CRI and ``podman kube play``.

Both get the same images, built offline: berth's busybox (every applet of
busybox-static) and berth's static pause binary as the sandbox/infra image,
and the reference CNI plugins (bridge + host-local, loopback) from
/usr/lib/cni on their own bridge in the bench's node namespace.

containerd: one pod = RunPodSandbox (CNI ADD) + CreateContainer +
StartContainer, timed around the three calls; 110 pods on 16 threads (as
the kubelet's parallel pod workers would).  Sandboxes get the cgroup parent
``/berth/<tag>-ctrd/pod<n>``, removed afterwards.  Overhead per pod: the PSS
of each shim and the pause under it.

podman: one ``podman kube play`` per pod file (it returns once the pod's
containers run), then one file holding all 110 pods.  Overhead per pod: the
conmons (one per container, infra included) and the infra's pause.
"""

from __future__ import annotations

import concurrent.futures
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.procmem import all_pids, children, cmdline, comm, pss_kib, rss_kib
from berth.host.cgroups import remove_empty_cgroup, teardown_cgroup_tree
from berth.host.helpers import ensure_helper
from berth.images.busybox import BUSYBOX_BINARY, IMAGE_NAME, build_busybox_layout, build_layer
from berth.testing.containerd import (
    PAUSE_IMAGE,
    Containerd,
    build_pause_layout,
    tar_layout,
)
from berth.testing.podman import Podman

REFERENCE = Path("/usr/lib/cni")
PODMAN_BUSYBOX = "berth.local/busybox:bench"


def bridge_conflist(name: str, bridge: str, subnet: str, data_dir: Path) -> str:
    return json.dumps({"cniVersion": "1.0.0", "name": name, "plugins": [
        {"type": "bridge", "bridge": bridge, "isGateway": True,
         "ipam": {"type": "host-local", "dataDir": str(data_dir),
                  "ranges": [[{"subnet": subnet}]]}}]})


def _pause_binary(work: Path) -> Path:
    return ensure_helper("berth-pause", work / "bin")


# -- containerd -------------------------------------------------------------------------
def _cri_pod(stub: Any, api: Any, i: int, tag: str, logs: Path) -> float:
    start = time.perf_counter()
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=f"pod{i}", uid=f"uid-{tag}-{i}",
                                        namespace="default", attempt=0),
        hostname=f"pod{i}", log_directory=str(logs / str(i)),
        linux=api.LinuxPodSandboxConfig(cgroup_parent=f"/berth/{tag}-ctrd/pod{i}"))
    sid = stub.RunPodSandbox(api.RunPodSandboxRequest(config=config), timeout=120).pod_sandbox_id
    container = stub.CreateContainer(api.CreateContainerRequest(
        pod_sandbox_id=sid, sandbox_config=config, config=api.ContainerConfig(
            metadata=api.ContainerMetadata(name="app", attempt=0),
            image=api.ImageSpec(image=IMAGE_NAME), command=["sleep", "3600"],
            log_path="app/0.log", linux=api.LinuxContainerConfig())),
        timeout=120).container_id
    stub.StartContainer(api.StartContainerRequest(container_id=container), timeout=120)
    return (time.perf_counter() - start) * 1000


def _shim_overhead(work: Path) -> tuple[float, int]:
    shims = [p for p in all_pids()
             if comm(p).startswith("containerd-shim") and str(work) in cmdline(p)]
    pauses = [c for s in shims for c in children(s) if comm(c) == "pause"]
    total = sum(pss_kib(p) for p in shims + pauses)
    return total / max(len(pauses), 1), len(pauses)


def _remove_all(ctrd: Containerd) -> float:
    start = time.perf_counter()
    ctrd.remove_all_sandboxes()
    return time.perf_counter() - start


def run_containerd(work: Path, netns_path: str, tag: str, n: int, many: int) -> dict[str, Any]:
    from cri_api.v1 import api_pb2 as api

    work.mkdir(parents=True)
    conf_dir = work / "net.d"
    conf_dir.mkdir()
    (conf_dir / "10-bench.conflist").write_text(
        bridge_conflist("bench-ctrd", "bthbc0", "10.244.60.0/24", work / "ipam"))
    build_pause_layout(work / "pause", _pause_binary(work))
    build_busybox_layout(work / "busybox", BUSYBOX_BINARY)
    ctrd = Containerd(work / "d", netns_path, REFERENCE, conf_dir)
    try:
        ctrd.start()
        ctrd.import_archive(tar_layout(work / "pause", work / "pause.tar"), PAUSE_IMAGE)
        ctrd.import_archive(tar_layout(work / "busybox", work / "busybox.tar"), IMAGE_NAME)
        stub = ctrd.runtime()
        print("containerd: started, images imported", flush=True)
        _cri_pod(stub, api, 10_000, tag, work / "logs")  # warm-up
        _remove_all(ctrd)
        start_ms = [_cri_pod(stub, api, i, tag, work / "logs") for i in range(n)]
        _remove_all(ctrd)
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: _cri_pod(stub, api, i, tag, work / "logs"),
                          range(n, n + many)))
        many_ready = time.perf_counter() - start
        time.sleep(1.0)
        overhead, pods = _shim_overhead(ctrd.work)
        rss = rss_kib(ctrd.proc.pid) / 1024 if ctrd.proc is not None else 0.0
        delete_s = _remove_all(ctrd)
        return {"start_ms": start_ms, "many_ready_s": many_ready, "daemon": "containerd",
                "daemon_rss_mib": rss, "overhead_kib": overhead, "many_delete_s": delete_s,
                "note": f"{pods} shims measured; start = RunPodSandbox + CreateContainer + "
                        "StartContainer over CRI (no API server)"}
    except BaseException:
        print(ctrd.log_tail())
        raise
    finally:
        ctrd.stop()
        teardown_cgroup_tree(f"/berth/{tag}-ctrd")
        remove_empty_cgroup("/berth")


# -- podman -----------------------------------------------------------------------------
def kube_pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": PODMAN_BUSYBOX,
                                     "imagePullPolicy": "IfNotPresent",
                                     "command": ["sleep", "3600"]}]}}


def _rootfs_tar(path: Path, files: dict[str, bytes]) -> Path:
    import io

    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return path


def _conmon_overhead(work: Path) -> tuple[float, int]:
    conmons = [p for p in all_pids() if comm(p) == "conmon" and str(work) in cmdline(p)]
    pauses = [c for m in conmons for c in children(m) if comm(c) == "pause"]
    total = sum(pss_kib(p) for p in conmons + pauses)
    return total / max(len(pauses), 1), len(pauses)


def run_podman(work: Path, netns_path: str, n: int, many: int) -> dict[str, Any]:
    work.mkdir(parents=True)
    conf_dir = work / "net.d"
    conf_dir.mkdir()
    (conf_dir / "benchpod.conflist").write_text(
        bridge_conflist("benchpod", "bthbp0", "10.244.61.0/24", work / "ipam"))
    podman = Podman(work / "pm", netns_path, REFERENCE, conf_dir, "benchpod",
                    infra_image=PAUSE_IMAGE, infra_command="/pause")
    try:
        (work / "busybox.tar").write_bytes(build_layer(BUSYBOX_BINARY))
        podman("import", "--change", "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin",
               str(work / "busybox.tar"), PODMAN_BUSYBOX)
        pause = _rootfs_tar(work / "pause.tar", {"pause": _pause_binary(work).read_bytes()})
        podman("import", "--change", 'ENTRYPOINT ["/pause"]', str(pause), PAUSE_IMAGE)
        print("podman: images imported", flush=True)

        def play(name: str, pods: list[str]) -> float:
            path = work / f"{name}.yaml"
            path.write_text(yaml.safe_dump_all([kube_pod(p) for p in pods]))
            start = time.perf_counter()
            podman("kube", "play", str(path))
            return time.perf_counter() - start

        def remove_all() -> float:
            # under load podman 4.3 sometimes reports "PIDs did not die within timeout"
            # for a pod it then removes on the next try
            start = time.perf_counter()
            for _ in range(5):
                podman("pod", "rm", "--all", "--force", "--time", "0", check=False)
                if not podman("pod", "ps", "-q").strip():
                    break
            return time.perf_counter() - start

        play("warmup", ["warmup"])
        remove_all()
        start_ms = [play(f"seq-{i}", [f"seq-{i}"]) * 1000 for i in range(n)]
        remove_all()
        many_ready = play("many", [f"many-{i}" for i in range(many)])
        overhead, pods = _conmon_overhead(podman.work)
        delete_s = remove_all()
        return {"start_ms": start_ms, "many_ready_s": many_ready, "overhead_kib": overhead,
                "many_delete_s": delete_s,
                "note": f"{pods} pods measured; start = one `podman kube play` per pod; "
                        f"{many} pods = one kube play of one file (podman has no daemon)"}
    finally:
        podman.stop()
