"""cgroup helpers the runtime needs around runc: layout detection, OOM files, cleanup.

runc creates and fills a container's cgroup from the OCI spec
(``linux.cgroupsPath``, ``linux.resources``); berth only has to know the
layout of this host (v1, hybrid or unified v2, detected from the mounts under
/sys/fs/cgroup), where the OOM-kill counter of a cgroup lives (v1
``memory.oom_control``, v2 ``memory.events``) so the container monitor can
tell OOMKilled from Error, and how to remove the pod-level parent cgroups that
runc leaves behind when it deletes a container.

Every walk goes through ``hierarchies``: on a unified host that is the one
cgroup2 mount; on a v1 host each v1 hierarchy; on a hybrid host (systemd's
layout: v1 controllers plus a cgroup2 mount at ``unified``) the v1
hierarchies *and* ``unified``, because runc creates each container's cgroup
there too and would otherwise leave empty ``unified/berth/...`` directories.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from berth.host.runtime_errors import CgroupError

CGROUP_ROOT = Path("/sys/fs/cgroup")


def detect_cgroup_version(root: Path = CGROUP_ROOT) -> int:
    """2 when ``root`` is a unified cgroup2 mount, else 1 (v1 or hybrid)."""
    return 2 if (root / "cgroup.controllers").exists() else 1


def v1_hierarchies(root: Path = CGROUP_ROOT) -> list[Path]:
    """Every v1 hierarchy mounted under ``root`` (cpu, memory, name=systemd, ...)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.is_symlink() and p.name != "unified")


def hybrid_unified(root: Path = CGROUP_ROOT) -> Path | None:
    """The cgroup2 mount of a hybrid layout (``root/unified``), or None without one."""
    unified = root / "unified"
    return unified if (unified / "cgroup.controllers").exists() else None


def hierarchies(root: Path = CGROUP_ROOT) -> list[Path]:
    """Every mount where a cgroup path exists: v2 root, or v1 hierarchies + hybrid cgroup2."""
    if detect_cgroup_version(root) == 2:
        return [root]
    unified = hybrid_unified(root)
    return v1_hierarchies(root) + ([unified] if unified is not None else [])


def oom_counter_file(cgroups_path: str, root: Path = CGROUP_ROOT) -> Path:
    """The file whose ``oom_kill N`` line counts OOM kills in cgroup ``cgroups_path``."""
    rel = cgroups_path.strip("/")
    if detect_cgroup_version(root) == 2:
        return root / rel / "memory.events"
    return root / "memory" / rel / "memory.oom_control"


def read_oom_kills(cgroups_path: str, root: Path = CGROUP_ROOT) -> int:
    """OOM kills so far in ``cgroups_path``; 0 when the cgroup is gone."""
    try:
        text = oom_counter_file(cgroups_path, root).read_text()
    except FileNotFoundError:
        return 0
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return 0


def teardown_cgroup_tree(cgroups_path: str, root: Path = CGROUP_ROOT) -> None:
    """Remove ``cgroups_path`` and its empty sub-cgroups in every hierarchy.

    A cgroup still holding processes is an error naming it; one already gone
    is fine.
    """
    rel = cgroups_path.strip("/")
    if not rel:
        raise CgroupError("refusing to remove the root cgroup")
    for base in hierarchies(root):
        top = base / rel
        if not top.is_dir():
            continue
        dirs = [Path(d) for d, _, _ in os.walk(top)]
        for directory in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            try:
                directory.rmdir()
            except FileNotFoundError:
                continue
            except OSError as exc:
                if exc.errno == errno.EBUSY:
                    raise CgroupError(f"cgroup {directory} still has processes") from exc
                raise CgroupError(f"cannot remove cgroup {directory}: {exc.strerror}") from exc


def remove_empty_cgroup(cgroups_path: str, root: Path = CGROUP_ROOT) -> None:
    """rmdir ``cgroups_path`` (one level) wherever it is empty; busy or gone is left alone."""
    rel = cgroups_path.strip("/")
    if not rel:
        return
    for base in hierarchies(root):
        try:
            (base / rel).rmdir()
        except OSError:
            continue


def existing_cgroup_dirs(cgroups_path: str, root: Path = CGROUP_ROOT) -> list[Path]:
    """Where ``cgroups_path`` still exists, in any hierarchy (leftover checks, diagnostics)."""
    rel = cgroups_path.strip("/")
    return [base / rel for base in hierarchies(root) if rel and (base / rel).is_dir()]
