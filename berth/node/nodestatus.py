"""The Node object and its Lease: pure builders over facts the agent gathers once.

``gather_facts`` reads the machine (cpus, memory, disk, kernel, OS image,
boot id); ``plan_node`` renders the Node with capacity/allocatable (cpu,
memory, ephemeral-storage, pods=110), addresses, the four conditions with
heartbeat times (Ready follows the container runtime's Status: its binary and
its network, i.e. CNI STATUS), nodeInfo and the kubelet endpoint port; ``plan_lease`` the
``coordination.k8s.io/v1`` Lease in ``kube-node-lease`` that is the heartbeat.
"""

from __future__ import annotations

import os
import platform
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from berth import __version__
from berth.node.clock import rfc3339, rfc3339_micro

Obj = dict[str, Any]
MAX_PODS = 110
LEASE_SECONDS = 40
KUBELET_VERSION = "v1.31.0+berth"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class NodeFacts:
    cpus: int
    memory_ki: int
    disk_bytes: int
    kernel: str
    os_image: str
    boot_id: str
    machine_id: str
    hostname: str
    arch: str


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def gather_facts(root: Path) -> NodeFacts:
    mem = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1])
    st = os.statvfs(root)
    pretty = next((line.split("=", 1)[1].strip('"') for line in
                   _read("/etc/os-release").splitlines() if line.startswith("PRETTY_NAME=")),
                  "Linux")
    return NodeFacts(cpus=os.cpu_count() or 1, memory_ki=mem,
                     disk_bytes=st.f_blocks * st.f_frsize, kernel=platform.release(),
                     os_image=pretty, boot_id=_read("/proc/sys/kernel/random/boot_id"),
                     machine_id=_read("/etc/machine-id"), hostname=socket.gethostname(),
                     arch=ARCH.get(platform.machine(), platform.machine()))


def plan_node(name: str, facts: NodeFacts, *, address: str, port: int, runtime: str,
              now: float, pod_cidr: str = "", not_ready: str = "",
              old_conditions: list[Obj] | None = None) -> Obj:
    """The Node as this agent reports it; ``not_ready`` (the runtime's Status, CRI's
    RuntimeReady/NetworkReady) makes Ready False with that message, as the kubelet does."""
    stamp = rfc3339(now)
    old = {c.get("type"): c for c in old_conditions or []}

    def cond(kind: str, ok: bool, reason: str, message: str) -> Obj:
        status = "True" if ok else "False"
        prev = old.get(kind) or {}
        since = prev.get("lastTransitionTime") if prev.get("status") == status else None
        return {"type": kind, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": stamp, "lastTransitionTime": since or stamp}

    capacity = {"cpu": str(facts.cpus), "memory": f"{facts.memory_ki}Ki",
                "ephemeral-storage": str(facts.disk_bytes), "pods": str(MAX_PODS)}
    node: Obj = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": facts.arch, "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": facts.arch}},
        "spec": {},
        "status": {
            "capacity": capacity, "allocatable": dict(capacity),
            "addresses": [{"type": "InternalIP", "address": address},
                          {"type": "Hostname", "address": name}],
            "conditions": [
                cond("MemoryPressure", False, "KubeletHasSufficientMemory",
                     "kubelet has sufficient memory available"),
                cond("DiskPressure", False, "KubeletHasNoDiskPressure",
                     "kubelet has no disk pressure"),
                cond("PIDPressure", False, "KubeletHasSufficientPID",
                     "kubelet has sufficient PID available"),
                cond("Ready", not not_ready, "KubeletNotReady" if not_ready else "KubeletReady",
                     not_ready or "berth node agent is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "nodeInfo": {
                "machineID": facts.machine_id, "systemUUID": facts.machine_id,
                "bootID": facts.boot_id, "kernelVersion": facts.kernel,
                "osImage": facts.os_image, "containerRuntimeVersion": f"{runtime}://berth",
                "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
                "operatingSystem": "linux", "architecture": facts.arch,
            },
        },
    }
    if pod_cidr:
        node["spec"] = {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]}
    node["metadata"]["annotations"] = {"berth.io/agent-version": __version__}
    return node


def plan_lease(name: str, now: float, holder_uid: str = "") -> Obj:
    lease: Obj = {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_SECONDS,
                 "renewTime": rfc3339_micro(now)},
    }
    if holder_uid:
        lease["metadata"]["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": name, "uid": holder_uid}]
    return lease
