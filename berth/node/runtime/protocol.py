"""The CRI-shaped ``RuntimeService``: what the node agent asks of a container runtime.

The shapes follow Kubernetes' CRI v1 (runtime/v1/api.proto) with Python
names: a pod sandbox holds the pod's shared namespaces, containers run inside
a sandbox, every object carries labels and annotations that the runtime
persists so a restarted agent can rebuild its view from ``list_*`` alone.
Times are nanoseconds since the epoch (0 = not yet).  Configs are frozen
dataclasses, so the agent can compare them; statuses are snapshots.
``SandboxNetwork`` is the hook through which the agent's CNI client sets up
and tears down the pod's network once its namespace exists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol


class ContainerState(enum.StrEnum):
    CREATED = "CONTAINER_CREATED"
    RUNNING = "CONTAINER_RUNNING"
    EXITED = "CONTAINER_EXITED"
    UNKNOWN = "CONTAINER_UNKNOWN"


class SandboxState(enum.StrEnum):
    READY = "SANDBOX_READY"
    NOTREADY = "SANDBOX_NOTREADY"


@dataclass(frozen=True)
class PodSandboxMetadata:
    name: str
    namespace: str
    uid: str
    attempt: int = 0


@dataclass(frozen=True)
class DNSConfig:
    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int = 0
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass(frozen=True)
class LinuxPodSandboxConfig:
    cgroup_parent: str = ""
    share_process_namespace: bool = False
    sysctls: dict[str, str] = field(default_factory=dict)
    # CRI's NamespaceOption network=NODE: no netns of its own, no CNI; the pod joins
    # host_netns_path (the node's network namespace), or the runtime's own when empty
    host_network: bool = False
    host_netns_path: str = ""


@dataclass(frozen=True)
class HostAlias:
    ip: str
    hostnames: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PodSandboxConfig:
    metadata: PodSandboxMetadata
    hostname: str = ""
    log_directory: str = ""
    dns_config: DNSConfig | None = None
    port_mappings: list[PortMapping] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    linux: LinuxPodSandboxConfig = field(default_factory=LinuxPodSandboxConfig)
    host_aliases: list[HostAlias] = field(default_factory=list)
    hostname_fqdn: str = ""


@dataclass(frozen=True)
class ContainerMetadata:
    name: str
    attempt: int = 0


@dataclass(frozen=True)
class Mount:
    container_path: str
    host_path: str
    readonly: bool = False


@dataclass(frozen=True)
class LinuxContainerResources:
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_shares: int = 0
    memory_limit_in_bytes: int = 0
    cpuset_cpus: str = ""
    pids_limit: int = 0


@dataclass(frozen=True)
class LinuxContainerSecurityContext:
    run_as_user: int | None = None
    run_as_group: int | None = None
    readonly_rootfs: bool = False
    privileged: bool = False
    no_new_privs: bool = False
    add_capabilities: list[str] = field(default_factory=list)
    drop_capabilities: list[str] = field(default_factory=list)
    supplemental_groups: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ContainerConfig:
    metadata: ContainerMetadata
    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    working_dir: str = ""
    envs: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    log_path: str = ""  # relative to the sandbox's log_directory
    stdin: bool = False
    tty: bool = False
    resources: LinuxContainerResources = field(default_factory=LinuxContainerResources)
    security: LinuxContainerSecurityContext = field(
        default_factory=LinuxContainerSecurityContext)


@dataclass(frozen=True)
class PodSandboxNetworkStatus:
    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PodSandbox:
    id: str
    metadata: PodSandboxMetadata
    state: SandboxState
    created_at: int
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class PodSandboxStatus:
    id: str
    metadata: PodSandboxMetadata
    state: SandboxState
    created_at: int
    network: PodSandboxNetworkStatus
    netns_path: str
    pid: int
    labels: dict[str, str]
    annotations: dict[str, str]
    share_process_namespace: bool = False


@dataclass(frozen=True)
class Container:
    id: str
    pod_sandbox_id: str
    metadata: ContainerMetadata
    image: str
    image_ref: str
    state: ContainerState
    created_at: int
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    metadata: ContainerMetadata
    state: ContainerState
    created_at: int
    started_at: int
    finished_at: int
    exit_code: int
    image: str
    image_ref: str
    reason: str  # Completed, Error, OOMKilled, or "" while running
    message: str
    labels: dict[str, str]
    annotations: dict[str, str]
    mounts: list[Mount]
    log_path: str
    pid: int = 0


@dataclass(frozen=True)
class PodSandboxFilter:
    id: str = ""
    state: SandboxState | None = None
    label_selector: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerFilter:
    id: str = ""
    state: ContainerState | None = None
    pod_sandbox_id: str = ""
    label_selector: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecSyncResponse:
    exit_code: int
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True)
class RuntimeCondition:
    """One of CRI's runtime conditions: ``RuntimeReady`` or ``NetworkReady``."""

    type: str
    status: bool
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class RuntimeStatus:
    """CRI's ``Status`` answer: the runtime's conditions (the kubelet's Ready depends on them)."""

    conditions: tuple[RuntimeCondition, ...] = ()

    def not_ready(self) -> str:
        """Empty when every condition holds, else the kubelet's NotReady message."""
        bad = [c for c in self.conditions if not c.status]
        if not bad:
            return ""
        first = bad[0]
        what = "container runtime network" if first.type == "NetworkReady" \
            else "container runtime"
        return (f"{what} not ready: {first.type}=false reason:{first.reason} "
                f"message:{first.message}")


class SandboxNetwork(Protocol):
    """Network setup for a sandbox, called once its netns exists (CNI ADD/DEL)."""

    async def setup(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                    ) -> PodSandboxNetworkStatus: ...

    async def teardown(self, sandbox_id: str, netns_path: str, config: PodSandboxConfig
                       ) -> None: ...

    async def status(self) -> str:
        """Empty when a sandbox's network can be set up now, else why not (CNI STATUS)."""
        ...


class RuntimeService(Protocol):
    """CRI RuntimeService, asynchronous; ids are runtime-chosen hex strings."""

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str: ...

    async def stop_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus: ...

    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None
                               ) -> list[PodSandbox]: ...

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str: ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, timeout: float) -> None: ...

    async def remove_container(self, container_id: str) -> None: ...

    async def list_containers(self, filter: ContainerFilter | None = None
                              ) -> list[Container]: ...

    async def container_status(self, container_id: str) -> ContainerStatus: ...

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0
                        ) -> ExecSyncResponse: ...

    async def reopen_container_log(self, container_id: str) -> None: ...

    async def status(self) -> RuntimeStatus: ...
