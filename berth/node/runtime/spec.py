"""Planning OCI runtime specs (config.json) for sandboxes and containers: pure functions.

``plan_sandbox_spec`` describes the pause container: new IPC, UTS (hostname
= pod name), PID and mount namespaces, the pinned network namespace by path.
``plan_container_spec`` describes an app container that joins the sandbox's
net/ipc/uts namespaces (and its PID namespace when the pod shares one),
with the pod's /etc/hosts, /etc/hostname, /etc/resolv.conf and /dev/shm bound
in.  ``plan_process`` applies Kubernetes' rules for command/args over the
image's Entrypoint/Cmd, env over the image's Env, workingDir over WorkingDir.
Nothing here touches the disk except reading the rootfs's /etc/passwd to
resolve a user name, which callers pass in as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from berth.images.formats import ImageConfig
from berth.node.runtime.errors import InvalidConfig
from berth.node.runtime.protocol import (
    ContainerConfig,
    DNSConfig,
    HostAlias,
    LinuxContainerResources,
    PodSandboxConfig,
)

OCI_VERSION = "1.0.2"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
MASKED_PATHS = [
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
]
READONLY_PATHS = ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                  "/proc/sysrq-trigger"]


@dataclass(frozen=True)
class Process:
    args: list[str]
    env: list[str]
    cwd: str
    uid: int
    gid: int
    additional_gids: list[int]


def _env_key(entry: str) -> str:
    return entry.partition("=")[0]


def plan_env(image_env: list[str], overrides: dict[str, str], hostname: str, tty: bool
             ) -> list[str]:
    """Image env, then HOSTNAME, then the container's env (later keys win, order kept)."""
    merged: dict[str, str] = {}
    for entry in image_env:
        key, _, value = entry.partition("=")
        merged[key] = value
    merged.setdefault("PATH", DEFAULT_PATH)
    if hostname:
        merged["HOSTNAME"] = hostname
    if tty:
        merged.setdefault("TERM", "xterm")
    merged.update(overrides)
    return [f"{k}={v}" for k, v in merged.items()]


def plan_args(image: ImageConfig, command: list[str], args: list[str], what: str) -> list[str]:
    """Kubernetes' rule: command replaces Entrypoint (and drops Cmd); args replace Cmd."""
    argv = list(command) + list(args) if command else list(image.entrypoint) + (
        list(args) if args else list(image.cmd))
    if not argv:
        raise InvalidConfig(f"{what}: no command: the image has no Entrypoint/Cmd and "
                            "the container sets no command/args")
    return argv


def _lookup(table: str, name: str, column: int) -> int | None:
    for line in table.splitlines():
        fields = line.split(":")
        if len(fields) > column and fields[0] == name:
            return int(fields[column])
    return None


def resolve_user(spec: str, passwd: str, group: str, what: str) -> tuple[int, int]:
    """Image ``User`` (``uid``, ``name``, ``uid:gid``, ``name:group``) -> (uid, gid)."""
    if not spec:
        return 0, 0
    user, _, grp = spec.partition(":")
    if user.isdigit():
        uid, gid = int(user), _lookup_gid_of_uid(passwd, int(user))
    else:
        found = _lookup(passwd, user, 2)
        if found is None:
            raise InvalidConfig(f"{what}: user {user!r} not found in the image's /etc/passwd")
        uid, gid = found, _lookup(passwd, user, 3) or 0
    if grp:
        if grp.isdigit():
            gid = int(grp)
        else:
            found_gid = _lookup(group, grp, 2)
            if found_gid is None:
                raise InvalidConfig(f"{what}: group {grp!r} not found in the image's /etc/group")
            gid = found_gid
    return uid, gid


def _lookup_gid_of_uid(passwd: str, uid: int) -> int:
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) > 3 and fields[2] == str(uid):
            return int(fields[3])
    return 0


def plan_process(image: ImageConfig, config: ContainerConfig, hostname: str,
                 passwd: str = "", group: str = "") -> Process:
    what = f"container {config.metadata.name!r}"
    sec = config.security
    if sec.run_as_user is not None:  # runAsUser wins over the image's User
        uid, gid = sec.run_as_user, _lookup_gid_of_uid(passwd, sec.run_as_user)
    else:
        uid, gid = resolve_user(image.user, passwd, group, what)
    if sec.run_as_group is not None:
        gid = sec.run_as_group
    return Process(
        args=plan_args(image, config.command, config.args, what),
        env=plan_env(image.env, config.envs, hostname, config.tty),
        cwd=config.working_dir or image.working_dir or "/",
        uid=uid, gid=gid, additional_gids=list(sec.supplemental_groups),
    )


def render_resolv_conf(dns: DNSConfig | None, host_resolv: str = "") -> str:
    """The pod's resolv.conf: its DNS config, else the host's file as it is."""
    if dns is None or not (dns.servers or dns.searches or dns.options):
        return host_resolv
    lines = [f"nameserver {s}" for s in dns.servers]
    if dns.searches:
        lines.append("search " + " ".join(dns.searches))
    if dns.options:
        lines.append("options " + " ".join(dns.options))
    return "\n".join(lines) + "\n"


def render_hosts(hostname: str, ip: str, aliases: list[HostAlias]) -> str:
    """The pod's /etc/hosts, in the kubelet's layout."""
    lines = ["# Kubernetes-managed hosts file (berth).", "127.0.0.1\tlocalhost",
             "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet",
             "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    if ip and hostname:
        lines.append(f"{ip}\t{hostname}")
    lines += [f"{a.ip}\t{' '.join(a.hostnames)}" for a in aliases]
    return "\n".join(lines) + "\n"


def _base_mounts(readonly_sys: bool = True) -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                     "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", *(["ro"] if readonly_sys else [])]},
    ]


def _bind(destination: str, source: str, readonly: bool) -> dict[str, Any]:
    return {"destination": destination, "type": "bind", "source": source,
            "options": ["rbind", "rprivate", "ro" if readonly else "rw"]}


def plan_resources(res: LinuxContainerResources) -> dict[str, Any]:
    out: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
    if res.memory_limit_in_bytes:
        out["memory"] = {"limit": res.memory_limit_in_bytes}
    cpu: dict[str, Any] = {}
    if res.cpu_shares:
        cpu["shares"] = res.cpu_shares
    if res.cpu_quota:
        cpu["quota"] = res.cpu_quota
        cpu["period"] = res.cpu_period or 100000
    if res.cpuset_cpus:
        cpu["cpus"] = res.cpuset_cpus
    if cpu:
        out["cpu"] = cpu
    if res.pids_limit:
        out["pids"] = {"limit": res.pids_limit}
    return out


def _network_namespace(netns_path: str) -> list[dict[str, str]]:
    """Join ``netns_path``; none (runc's own namespace: a hostNetwork pod) when empty."""
    return [{"type": "network", "path": netns_path}] if netns_path else []


def plan_sandbox_spec(config: PodSandboxConfig, rootfs: str, netns_path: str,
                      cgroups_path: str) -> dict[str, Any]:
    """The pause container: holds net (by path), ipc, uts and pid namespaces."""
    return {
        "ociVersion": OCI_VERSION,
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/pause"],
                    "env": [f"PATH={DEFAULT_PATH}"], "cwd": "/",
                    "capabilities": {k: [] for k in ("bounding", "effective", "permitted")},
                    "noNewPrivileges": True},
        "root": {"path": rootfs, "readonly": True},
        "hostname": config.hostname or config.metadata.name,
        "mounts": _base_mounts()[:2],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                           *_network_namespace(netns_path)],
            "cgroupsPath": cgroups_path,
            "sysctl": dict(config.linux.sysctls),
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "maskedPaths": MASKED_PATHS, "readonlyPaths": READONLY_PATHS,
        },
    }


@dataclass(frozen=True)
class SandboxPaths:
    """Where a container finds its sandbox: namespaces and per-pod files."""

    pause_pid: int
    netns_path: str
    hosts: str
    hostname: str
    resolv_conf: str
    shm: str
    share_pid: bool


def _capabilities(config: ContainerConfig) -> list[str]:
    sec = config.security
    if sec.privileged:
        return [*DEFAULT_CAPS, "CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE"]
    caps = ["CAP_" + c.upper().removeprefix("CAP_") for c in sec.add_capabilities]
    drop = {"CAP_" + c.upper().removeprefix("CAP_") for c in sec.drop_capabilities}
    if "CAP_ALL" in drop:
        return caps
    return [c for c in dict.fromkeys(DEFAULT_CAPS + caps) if c not in drop]


def plan_container_spec(config: ContainerConfig, process: Process, rootfs: str,
                        sandbox: SandboxPaths, cgroups_path: str) -> dict[str, Any]:
    """An app container joining the sandbox's namespaces, with its own mount namespace."""
    ns = f"/proc/{sandbox.pause_pid}/ns"
    namespaces: list[dict[str, str]] = [
        {"type": "pid", "path": f"{ns}/pid"} if sandbox.share_pid else {"type": "pid"},
        {"type": "ipc", "path": f"{ns}/ipc"}, {"type": "uts", "path": f"{ns}/uts"},
        *_network_namespace(sandbox.netns_path), {"type": "mount"},
    ]
    mounts = _base_mounts(readonly_sys=not config.security.privileged)
    mounts += [_bind("/dev/shm", sandbox.shm, False),
               _bind("/etc/hosts", sandbox.hosts, False),
               _bind("/etc/hostname", sandbox.hostname, False),
               _bind("/etc/resolv.conf", sandbox.resolv_conf, False)]
    for mount in config.mounts:
        if not mount.container_path.startswith("/"):
            raise InvalidConfig(f"container {config.metadata.name!r}: mount path "
                                f"{mount.container_path!r} must be absolute")
        mounts.append(_bind(mount.container_path, mount.host_path, mount.readonly))
    caps = _capabilities(config)
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": process.uid, "gid": process.gid,
                     **({"additionalGids": process.additional_gids}
                        if process.additional_gids else {})},
            "args": process.args, "env": process.env, "cwd": process.cwd,
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": config.security.no_new_privs,
        },
        "root": {"path": rootfs, "readonly": config.security.readonly_rootfs},
        "mounts": mounts,
        "linux": {
            "namespaces": namespaces,
            "cgroupsPath": cgroups_path,
            "resources": plan_resources(config.resources),
            **({} if config.security.privileged else
               {"maskedPaths": MASKED_PATHS, "readonlyPaths": READONLY_PATHS}),
        },
    }
