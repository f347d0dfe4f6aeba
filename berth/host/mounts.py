"""Mounts for container root filesystems: overlayfs, bind mounts, tmpfs, netns pins.

A container's rootfs is an overlayfs whose lower layers are image snapshots
(shared read-only by every container of the image) and whose upper/work
directories belong to the container.  These helpers call mount(2)/umount2(2)
directly through libc (no ``mount`` subprocess: a pod start does several), and
translate errno into ``MountError`` naming the path.  Unmounting something that
is not mounted succeeds, so teardown is idempotent.  (Pinning network
namespaces lives in ``berth.host.netns``.)
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

from berth.host.runtime_errors import MountError

MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 0x2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _mount(source: str, target: Path, fstype: str | None, flags: int, data: str | None) -> None:
    rc = _libc.mount(source.encode(), str(target).encode(),
                     fstype.encode() if fstype else None, flags,
                     data.encode() if data else None)
    if rc != 0:
        err = ctypes.get_errno()
        raise MountError(f"mount {fstype or 'bind'} {source} on {target}: {os.strerror(err)}")


def overlay_options(lowers: list[Path], upper: Path | None, work: Path | None) -> str:
    """The overlayfs option string; without upper/work the mount is read-only."""
    if not lowers:
        raise MountError("overlay needs at least one lower directory")
    opts = "lowerdir=" + ":".join(str(p) for p in lowers)
    if upper is not None and work is not None:
        opts += f",upperdir={upper},workdir={work}"
    return opts


def mount_overlay(target: Path, lowers: list[Path], upper: Path | None, work: Path | None
                  ) -> None:
    """Mount an overlayfs of ``lowers`` (top first) with ``upper``/``work`` on ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for path in (upper, work):
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
    _mount("overlay", target, "overlay", 0, overlay_options(lowers, upper, work))


def bind_mount(source: Path, target: Path, *, readonly: bool = False) -> None:
    """Bind ``source`` on ``target`` (a read-only bind needs a second, remount step)."""
    _mount(str(source), target, None, MS_BIND | MS_REC, None)
    if readonly:
        _mount(str(source), target, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)


def mount_tmpfs(target: Path, *, size_bytes: int = 0, mode: int = 0o755) -> None:
    target.mkdir(parents=True, exist_ok=True)
    data = f"mode={mode:o}" + (f",size={size_bytes}" if size_bytes else "")
    _mount("tmpfs", target, "tmpfs", 0, data)


def is_mountpoint(path: Path) -> bool:
    """True if ``path`` is a mount point in this process's mount namespace."""
    wanted = os.path.realpath(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == wanted:
                return True
    return False


def unmount(target: Path, *, detach: bool = True) -> None:
    """Unmount ``target`` (lazily by default); not mounted or gone counts as done."""
    rc = _libc.umount2(str(target).encode(), MNT_DETACH if detach else 0)
    if rc != 0:
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOENT):
            return
        raise MountError(f"unmount {target}: {os.strerror(err)}")


def unmount_all(target: Path) -> None:
    """Unmount ``target`` until nothing is mounted there (stacked mounts)."""
    for _ in range(16):
        if not is_mountpoint(target):
            return
        unmount(target)
    raise MountError(f"unmount {target}: still mounted after 16 attempts")


def mountpoints_under(top: Path) -> list[Path]:
    """Every mount point at or below ``top`` in this mount namespace, deepest first."""
    prefix = os.path.realpath(top)
    found: list[Path] = []
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(Path(point))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def unmount_under(top: Path) -> None:
    """Lazily unmount everything mounted at or below ``top`` (another daemon's leftovers)."""
    for point in mountpoints_under(top):
        unmount(point)
