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

from berth.api.addressplan import (
    DEFAULT_CLUSTER_CIDR,
    DEFAULT_NODE_MASK,
    DEFAULT_NODE_PORT_RANGE,
    DEFAULT_SERVICE_CIDR,
    AddressPlan,
    AddressPlanError,
)
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
    # --- the cluster's address plan (berth.api.addressplan) ---
    cluster_cidr: str = DEFAULT_CLUSTER_CIDR          # --pod-network-cidr
    service_cidr: str = DEFAULT_SERVICE_CIDR          # --service-cidr
    node_cidr_mask: int = DEFAULT_NODE_MASK           # --node-cidr-mask-size
    node_port_range: tuple[int, int] = DEFAULT_NODE_PORT_RANGE  # --service-node-port-range

    def address_plan(self) -> AddressPlan:
        """The cluster's address plan from these settings (AddressPlanError names the flag)."""
        return AddressPlan.parse(self.cluster_cidr, self.service_cidr, self.node_cidr_mask,
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
            self.address_plan()
        except AddressPlanError as exc:
            raise ConfigError(str(exc)) from None
        for addr in self.advertise_addresses:
            try:
                ipaddress.ip_address(addr)
            except ValueError:
                raise ConfigError(
                    f"advertise_addresses: {addr!r} is not an IP address"
                ) from None
