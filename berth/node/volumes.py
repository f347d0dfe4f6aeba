"""Pod volumes on the node's disk: set up before the sandbox, torn down after it.

``setup_volumes`` makes one directory per volume under
``<pods dir>/<uid>/volumes/<name>`` (emptyDir on disk or, with medium
Memory, a tmpfs of sizeLimit; secrets always on a tmpfs), checks hostPath
types, writes configMap, secret and downwardAPI files (items, modes) and
returns each volume's host path.  ``plan_mounts`` (pure) turns a container's
volumeMounts into runtime mounts, with subPath and readOnly.
``teardown_volumes`` unmounts and removes them.  Errors name the volume.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

from berth.api.quantity import parse_quantity
from berth.host import mounts
from berth.node import podspec
from berth.node.convert import Sources
from berth.node.errors import VolumeError, VolumeSourceMissing
from berth.node.runtime.protocol import Mount

Obj = dict[str, Any]
HOSTPATH_CHECKS = {
    "Directory": stat.S_ISDIR, "File": stat.S_ISREG, "Socket": stat.S_ISSOCK,
    "CharDevice": stat.S_ISCHR, "BlockDevice": stat.S_ISBLK,
}


def _safe_rel(rel: str, what: str) -> str:
    parts = Path(rel).parts
    if rel.startswith("/") or ".." in parts or not parts:
        raise VolumeError(f"{what}: path {rel!r} must be relative and must not contain '..'")
    return rel


def _write_files(root: Path, files: dict[str, tuple[bytes, int]], what: str) -> None:
    for rel, (data, mode) in files.items():
        target = root / _safe_rel(rel, what)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.chmod(tmp, mode)
        tmp.replace(target)


def _keyed_files(source: Obj, data: dict[str, bytes], what: str) -> dict[str, tuple[bytes, int]]:
    mode = int(source.get("defaultMode", 0o644))
    items = source.get("items")
    if not items:
        return {k: (v, mode) for k, v in data.items()}
    files = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if source.get("optional"):
                continue
            raise VolumeSourceMissing(f"{what}: key {key!r} not found")
        files[item.get("path") or key] = (data[key], int(item.get("mode", mode)))
    return files


def _downward_files(pod: Obj, source: Obj, node_name: str, what: str
                    ) -> dict[str, tuple[bytes, int]]:
    mode = int(source.get("defaultMode", 0o644))
    files = {}
    for item in source.get("items") or []:
        if "fieldRef" in item:
            try:
                value = podspec.field_ref(pod, item["fieldRef"].get("fieldPath", ""),
                                          node_name, "", "")
            except KeyError:
                raise VolumeError(f"{what}: unsupported fieldPath "
                                  f"{item['fieldRef'].get('fieldPath')!r}") from None
        elif "resourceFieldRef" in item:
            ref = item["resourceFieldRef"]
            target = podspec.find_container(pod, ref.get("containerName", ""))
            value = podspec.resource_ref(target.spec if target else {}, ref.get("resource", ""),
                                         ref.get("divisor"))
        else:
            continue
        files[item.get("path", "")] = (value.encode(), int(item.get("mode", mode)))
    return files


def _setup_host_path(source: Obj, what: str) -> Path:
    path = Path(source.get("path", ""))
    kind = source.get("type") or ""
    if kind == "DirectoryOrCreate":
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
    elif kind == "FileOrCreate":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o644, exist_ok=True)
    elif kind in HOSTPATH_CHECKS:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise VolumeError(f"{what}: hostPath {path} does not exist") from None
        if not HOSTPATH_CHECKS[kind](mode):
            raise VolumeError(f"{what}: hostPath {path} is not a {kind}")
    return path


def setup_volumes(pod: Obj, pod_dir: Path, sources: Sources, node_name: str) -> dict[str, Path]:
    """Prepare every volume of ``pod``; returns volume name -> host path."""
    out: dict[str, Path] = {}
    for vol in podspec.spec(pod).get("volumes") or []:
        name = vol.get("name", "")
        what = f'volume "{name}"'
        target = pod_dir / "volumes" / name
        if "hostPath" in vol:
            out[name] = _setup_host_path(vol["hostPath"], what)
            continue
        fresh = not target.exists()
        target.mkdir(parents=True, exist_ok=True)
        if "emptyDir" in vol:
            source = vol["emptyDir"] or {}
            if source.get("medium") == "Memory" and not mounts.is_mountpoint(target):
                size = int(parse_quantity(source["sizeLimit"])) if source.get("sizeLimit") else 0
                mounts.mount_tmpfs(target, size_bytes=size, mode=0o1777)
            elif fresh:
                os.chmod(target, 0o777)
        elif "configMap" in vol:
            source = vol["configMap"]
            cm = sources.config_maps.get(source.get("name", ""))
            if cm is None:
                if not source.get("optional"):
                    raise VolumeSourceMissing(f'{what}: configmap "{source.get("name")}" '
                                              "not found")
                cm = {}
            data = {k: v.encode() for k, v in cm.items()}
            _write_files(target, _keyed_files(source, data, what), what)
        elif "secret" in vol:
            source = vol["secret"]
            secret = sources.secrets.get(source.get("secretName", ""))
            if secret is None:
                if not source.get("optional"):
                    raise VolumeSourceMissing(f'{what}: secret "{source.get("secretName")}" '
                                              "not found")
                secret = {}
            if not mounts.is_mountpoint(target):
                mounts.mount_tmpfs(target, mode=0o755)
            _write_files(target, _keyed_files(source, secret, what), what)
        elif "downwardAPI" in vol:
            _write_files(target, _downward_files(pod, vol["downwardAPI"], node_name, what),
                         what)
        else:
            kinds = sorted(k for k in vol if k != "name")
            raise VolumeError(f"{what}: volume type {kinds} is not supported by berth yet")
        out[name] = target
    return out


def plan_mounts(pod: Obj, c: Obj, volume_paths: dict[str, Path]) -> list[Mount]:
    """A container's volumeMounts as runtime mounts (host path with subPath, readOnly)."""
    out = []
    kinds = {v.get("name"): v for v in podspec.spec(pod).get("volumes") or []}
    for vm in c.get("volumeMounts") or []:
        name = vm.get("name", "")
        if name not in volume_paths:
            raise VolumeError(f'container "{c.get("name")}": volumeMount "{name}" names no volume')
        host = volume_paths[name]
        sub = vm.get("subPath") or ""
        if sub:
            host = host / _safe_rel(sub, f'volumeMount "{name}" subPath')
            if not host.exists():
                host.mkdir(parents=True, mode=0o777)
        vol = kinds.get(name) or {}
        readonly = bool(vm.get("readOnly")) or any(k in vol for k in (
            "configMap", "secret", "downwardAPI"))
        out.append(Mount(container_path=vm.get("mountPath", ""), host_path=str(host),
                         readonly=readonly))
    return out


def teardown_volumes(pod_dir: Path) -> None:
    """Unmount tmpfs volumes and remove the pod's volume directories (missing is fine)."""
    root = pod_dir / "volumes"
    if not root.exists():
        return
    for entry in root.iterdir():
        mounts.unmount_all(entry)
    shutil.rmtree(root, ignore_errors=True)
