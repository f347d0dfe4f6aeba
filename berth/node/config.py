"""The node agent's settings (``berth node`` flags), checked before anything starts.

``NodeConfig`` holds identity (name, addresses, port), where to reach the API
server, where state lives (root dir, images, CNI conf/bin/cache dirs), the
runtime binary and static pod path; ``validate`` names the bad field.  The
cluster-wide settings it needs (cluster DNS, domain) come from the cluster's
address plan (``berth.api.addressplan``), handed in where the process is
assembled (``berth.daemon.node``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from berth.api.addressplan import DEFAULT_PLAN
from berth.node.errors import NodeConfigError

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DEFAULT_PORT = 10250
DEFAULT_IMAGE_DIR = Path("/var/lib/berth/images")
DEFAULT_CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")


@dataclass
class NodeConfig:
    name: str
    server: str = ""
    kubeconfig: str | None = None
    root_dir: Path | None = None  # default /var/lib/berth/<name>
    run_dir: Path | None = None  # default /run/berth/<name>
    image_dir: Path = DEFAULT_IMAGE_DIR
    cni_conf_dir: Path | None = None  # default <root>/cni/net.d (berth writes its default)
    cni_bin_dirs: list[str] = field(default_factory=lambda: list(DEFAULT_CNI_BIN_DIRS))
    runtime: str = "runc"
    pod_manifest_path: Path | None = None
    node_netns: str = ""  # run CNI and probes in this network namespace
    node_ip: str = ""  # InternalIP (default: 127.0.0.1)
    bind_address: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # this node's own subnet (Kubernetes' podCIDR) when it names it itself (standalone)
    pod_cidr: str = str(DEFAULT_PLAN.node_subnet(0))
    api_token_file: Path | None = None  # the API server's kubelet-client token
    heartbeat_seconds: float = 10.0
    container_log_max_bytes: int = 10 << 20

    def __post_init__(self) -> None:
        if self.root_dir is None:
            self.root_dir = Path("/var/lib/berth") / self.name
        if self.run_dir is None:
            self.run_dir = Path("/run/berth") / self.name
        if self.cni_conf_dir is None:
            self.cni_conf_dir = self.root_dir / "cni" / "net.d"

    @property
    def root(self) -> Path:
        assert self.root_dir is not None
        return self.root_dir

    def validate(self) -> None:
        if not self.name or len(self.name) > 63 or not NAME_RE.match(self.name):
            raise NodeConfigError(f"--name: {self.name!r} is not a valid node name "
                                  "(lowercase letters, digits, '-' and '.')")
        if self.runtime not in ("runc", "crun"):
            raise NodeConfigError(f"--runtime: {self.runtime!r}: choose runc or crun")
        if not 0 <= self.port <= 65535:
            raise NodeConfigError(f"--port: {self.port} is not a TCP port")
        for flag, value in (("--node-ip", self.node_ip), ("--address", self.bind_address)):
            if value:
                try:
                    ipaddress.ip_address(value)
                except ValueError:
                    raise NodeConfigError(f"{flag}: {value!r} is not an IP address") from None
        try:
            ipaddress.ip_network(self.pod_cidr)
        except ValueError:
            raise NodeConfigError(f"--pod-cidr: {self.pod_cidr!r} is not a CIDR") from None
        if self.pod_manifest_path is not None and not self.pod_manifest_path.is_dir():
            raise NodeConfigError(f"--pod-manifest-path: {self.pod_manifest_path} "
                                  "is not a directory")
        if self.container_log_max_bytes < 4096:
            raise NodeConfigError("--container-log-max-size: must be at least 4096 bytes")
        if self.api_token_file is not None and not self.api_token_file.is_file():
            raise NodeConfigError(f"--api-server-token-file: {self.api_token_file} "
                                  "does not exist")
