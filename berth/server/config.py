"""The API server's configuration: one frozen dataclass that `berth server` fills in.

`ServerConfig` holds what the operator chooses (data directory, listen address,
datastore, extra certificate SANs, where to write the admin kubeconfig).
`validate` reports a bad value once, at start-up, naming the field; the datastore
URL itself is parsed by `berth.store.open_store`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from berth.controllers.config import (
    DEFAULT_CLUSTER_CIDR,
    DEFAULT_NODE_CIDR_MASK,
    DEFAULT_NODE_PORT_RANGE,
    DEFAULT_SERVICE_CIDR,
    ControllerConfig,
)
from berth.controllers.errors import ControllerConfigError
from berth.controllers.manager import ALL_CONTROLLERS
from berth.server.errors import ConfigError

DEFAULT_PORT = 6443
KUBERNETES_VERSION = "v1.31.0"


@dataclass(frozen=True)
class ServerConfig:
    """Everything `run_server` needs; defaults give a loopback-only server."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    datastore: str = "sqlite"
    advertise_addresses: tuple[str, ...] = ()
    sans: tuple[str, ...] = ()
    kubeconfig_path: Path | None = None
    max_body_bytes: int = 3 * 1024 * 1024
    # --- the address plan and control loops (berth.controllers) ---
    cluster_cidr: str = DEFAULT_CLUSTER_CIDR          # --pod-network-cidr
    service_cidr: str = DEFAULT_SERVICE_CIDR          # --service-cidr
    node_cidr_mask: int = DEFAULT_NODE_CIDR_MASK      # --node-cidr-mask-size
    node_port_range: tuple[int, int] = DEFAULT_NODE_PORT_RANGE  # --service-node-port-range
    # which control loops run in this process: `berth server` passes ALL_CONTROLLERS; the
    # default () keeps a bare API server for tests (Service IP allocation always works)
    controllers: tuple[str, ...] = ()

    def controller_config(self) -> ControllerConfig:
        return ControllerConfig(cluster_cidr=self.cluster_cidr, service_cidr=self.service_cidr,
                                node_cidr_mask=self.node_cidr_mask,
                                node_port_range=self.node_port_range)

    def validate(self) -> None:
        """Raise ConfigError naming the first field that cannot be used."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port: {self.port} is not a TCP port (0-65535)")
        if not (self.datastore in ("sqlite", "sqlite://") or
                self.datastore.startswith(("sqlite:///", "etcd://"))):
            raise ConfigError(f"datastore: {self.datastore!r} is neither 'sqlite' nor "
                              "'etcd://host:port[,host:port]'")
        try:
            self.controller_config().validate()
        except ControllerConfigError as exc:
            raise ConfigError(str(exc)) from None
        unknown = set(self.controllers) - set(ALL_CONTROLLERS)
        if unknown:
            raise ConfigError(f"controllers: unknown {sorted(unknown)}; known: "
                              f"{', '.join(ALL_CONTROLLERS)}")
        for addr in self.advertise_addresses:
            try:
                ipaddress.ip_address(addr)
            except ValueError:
                raise ConfigError(
                    f"advertise_addresses: {addr!r} is not an IP address"
                ) from None
