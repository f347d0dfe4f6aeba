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

    def validate(self) -> None:
        """Raise ConfigError naming the first field that cannot be used."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port: {self.port} is not a TCP port (0-65535)")
        if not (self.datastore in ("sqlite", "sqlite://") or
                self.datastore.startswith(("sqlite:///", "etcd://"))):
            raise ConfigError(f"datastore: {self.datastore!r} is neither 'sqlite' nor "
                              "'etcd://host:port[,host:port]'")
        for addr in self.advertise_addresses:
            try:
                ipaddress.ip_address(addr)
            except ValueError:
                raise ConfigError(
                    f"advertise_addresses: {addr!r} is not an IP address"
                ) from None
