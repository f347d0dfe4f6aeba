"""Network configurations as the runtime reads them: .conf and .conflist files in a conf dir.

``load_conf_bytes`` reads one file into a ``NetworkConfigList`` (a single
plugin ``.conf`` becomes a one-plugin list, as libcni does) and checks what
the client needs - name, cniVersion or cniVersions, each plugin's type - with
errors naming the file and field.  ``load_conf_dir`` lists them sorted by
file name; ``find_network`` picks the first with the requested name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from berth.cni.conf import NAME_RE, decode_json_object
from berth.cni.errors import IncompatibleVersion, InvalidConfig, IOFailure, NetworkNotFound
from berth.cni.spec import version_tuple

EXTENSIONS = (".conf", ".conflist", ".json")


@dataclass(frozen=True)
class NetworkConfigList:
    name: str
    cni_version: str
    cni_versions: tuple[str, ...]
    plugins: tuple[dict[str, Any], ...]
    disable_check: bool
    disable_gc: bool
    source: str
    raw: bytes


def load_conf_bytes(data: bytes, source: str) -> NetworkConfigList:
    obj = decode_json_object(data, source)
    if "plugins" not in obj:
        if "type" not in obj:
            raise InvalidConfig(f"{source}: neither 'plugins' (a .conflist) nor 'type' (a .conf)")
        plugins = [{k: v for k, v in obj.items() if k not in ("name", "cniVersion")}]
    else:
        plugins = obj["plugins"]
        if not isinstance(plugins, list) or not plugins:
            raise InvalidConfig(f"{source}: plugins: expected a non-empty list")
    name = obj.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidConfig(f"{source}: name: required, must match {NAME_RE.pattern}")
    versions = obj.get("cniVersions") or []
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        raise InvalidConfig(f"{source}: cniVersions: expected a list of strings")
    version = obj.get("cniVersion") or ""
    if not isinstance(version, str) or not (version or versions):
        raise InvalidConfig(f"{source}: cniVersion: required string field is missing")
    for v in [version, *versions] if version else versions:
        try:
            version_tuple(v)
        except IncompatibleVersion as exc:
            raise InvalidConfig(f"{source}: cniVersion: invalid version {v!r}") from exc
    for i, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or not isinstance(plugin.get("type"), str) \
                or not plugin["type"]:
            raise InvalidConfig(f"{source}: plugins[{i}].type: required string field is missing")
    return NetworkConfigList(
        name=name,
        cni_version=version,
        cni_versions=tuple(versions),
        plugins=tuple(plugins),
        disable_check=bool(obj.get("disableCheck")),
        disable_gc=bool(obj.get("disableGC")),
        source=source,
        raw=data,
    )


def load_conf_file(path: str) -> NetworkConfigList:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise IOFailure(f"{path}: cannot read", exc.strerror or "") from exc
    return load_conf_bytes(data, path)


def conf_files(conf_dir: str) -> list[str]:
    try:
        names = os.listdir(conf_dir)
    except FileNotFoundError:
        return []
    return [os.path.join(conf_dir, n) for n in sorted(names) if n.endswith(EXTENSIONS)]


def load_conf_dir(conf_dir: str) -> list[NetworkConfigList]:
    return [load_conf_file(p) for p in conf_files(conf_dir)]


def find_network(conf_dir: str, name: str) -> NetworkConfigList:
    for path in conf_files(conf_dir):
        net = load_conf_file(path)
        if net.name == name:
            return net
    raise NetworkNotFound(f"no network named {name!r} in {conf_dir}")
