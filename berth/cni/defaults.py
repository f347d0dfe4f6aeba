"""berth's own network configurations: the one place a node's CNI conf files are written.

A berth node uses one of two pod networks, and both are rendered here:

- ``meta_conflist``: the ``berth-net`` chain (berth-net + berth-portmap +
  berth-loopback) that a node with the network agent uses.  It reads the
  node's subnet from the agent's subnet file at ADD time, so it can exist
  before the node has a subnet (its STATUS fails until then); ``berthSocket`` names the node's CNI
  fast-path server, when there is one, so the exec'd plugins are thin clients.
- ``bridge_conflist`` + ``loopback_conf``: the same network spelled out for the
  reference ``bridge`` + ``host-local`` + ``loopback`` plugins, for a node that
  names its own subnet (``berth node --pod-cidr``, no network agent);
  ``ensure_default_conf`` writes these into an empty conf dir and leaves a
  conf dir that holds anything alone (the operator's own configuration wins).

``write_atomic`` replaces a file in one rename, so a plugin never reads half.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONFLIST_NAME = "10-berth.conflist"
LOOPBACK_NAME = "99-loopback.conf"
BRIDGE = "bth0"  # the node's pod bridge


def bridge_conflist(subnet: str, data_dir: Path, *, mtu: int | None = None,
                    default_route: bool = False, plugin: str = "bridge") -> dict[str, Any]:
    """``bridge`` on ``bth0`` with ``host-local`` IPAM over ``subnet``; no masquerade."""
    ipam: dict[str, Any] = {"type": "host-local", "ranges": [[{"subnet": subnet}]],
                            "dataDir": str(data_dir)}
    if default_route:
        ipam["routes"] = [{"dst": "0.0.0.0/0"}]
    conf: dict[str, Any] = {"type": plugin, "bridge": BRIDGE, "isGateway": True,
                            "ipMasq": False, "hairpinMode": True}
    if mtu is not None:
        conf["mtu"] = mtu
    conf["ipam"] = ipam
    return {"cniVersion": "1.0.0", "name": "berth", "plugins": [conf]}


def loopback_conf() -> dict[str, Any]:
    return {"cniVersion": "1.0.0", "name": "berth-lo", "type": "loopback"}


def meta_conflist(subnet_file: Path, data_dir: Path, socket: str = "") -> dict[str, Any]:
    """The ``berth-net`` chain; it does not depend on the subnet, so it can exist first."""
    extra: dict[str, Any] = {"berthSocket": socket} if socket else {}
    # 1.1.0 for STATUS: berth-net answers "not available" until the node has its subnet,
    # and the node agent reports NotReady meanwhile (as a kubelet does without a CNI config)
    return {"cniVersion": "1.1.0", "name": "berth", "plugins": [
        {"type": "berth-net", "subnetFile": str(subnet_file), "dataDir": str(data_dir),
         "ipamDataDir": str(data_dir / "ipam"), **extra},
        {"type": "berth-portmap", "capabilities": {"portMappings": True}, **extra},
        {"type": "berth-loopback", **extra}]}


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it already holds it; True when it changed."""
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def write_conf(conf_dir: Path, name: str, conf: dict[str, Any]) -> bool:
    return write_atomic(conf_dir / name, json.dumps(conf, indent=2) + "\n")


def write_conflist(conf_dir: Path, conflist: dict[str, Any]) -> bool:
    """berth's network list as ``10-berth.conflist`` (True when it changed)."""
    return write_conf(conf_dir, CONFLIST_NAME, conflist)


def ensure_default_conf(conf_dir: Path, pod_cidr: str, data_dir: Path) -> None:
    """The reference-plugin network over ``pod_cidr``, unless ``conf_dir`` holds a config."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    if any(conf_dir.glob("*.conf*")):
        return
    write_conflist(conf_dir, bridge_conflist(pod_cidr, data_dir))
    write_conf(conf_dir, LOOPBACK_NAME, loopback_conf())
