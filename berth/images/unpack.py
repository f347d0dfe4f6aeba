"""Applying image layers (tar, optionally gzip) to a snapshot directory, with whiteouts.

Layers are applied bottom to top into one directory per image.  Each layer is
read twice: first its whiteouts (``.wh.NAME`` deletes NAME from the layers
below, ``.wh..wh..opq`` empties its directory), then its other entries, which
replace whatever lower layers left at the same path.  Entry names are checked
before anything is written: no absolute paths, no ``..``, no writing through
a symlink that leads out of the snapshot, so a hostile layer cannot touch the
host.  Owners, modes, device nodes and hard links are kept (we run as root).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
from pathlib import Path

from berth.images.errors import ImageFormatError

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"


def safe_member_name(name: str, layer: str) -> str:
    """``name`` as a clean relative path; rejects escapes from the snapshot."""
    clean = posixpath.normpath(name.lstrip("/")) if name.strip("/") else "."
    if clean == ".." or clean.startswith("../"):
        raise ImageFormatError(f"layer {layer}: entry {name!r} points outside the rootfs")
    return clean


def _inside(rootfs: Path, path: Path, layer: str, name: str) -> Path:
    real_parent = os.path.realpath(path.parent)
    root = os.path.realpath(rootfs)
    if real_parent != root and not real_parent.startswith(root + os.sep):
        raise ImageFormatError(f"layer {layer}: entry {name!r} goes through a symlink out of the rootfs")
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _apply_whiteouts(members: list[tarfile.TarInfo], rootfs: Path, layer: str) -> None:
    for member in members:
        name = safe_member_name(member.name, layer)
        parent, base = posixpath.split(name)
        if not base.startswith(WHITEOUT_PREFIX):
            continue
        directory = _inside(rootfs, rootfs / parent / "x", layer, member.name).parent
        if base == OPAQUE:
            if directory.is_dir() and not directory.is_symlink():
                for child in directory.iterdir():
                    _remove(child)
        else:
            _remove(_inside(rootfs, directory / base[len(WHITEOUT_PREFIX):], layer, member.name))


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, rootfs: Path, layer: str) -> None:
    name = safe_member_name(member.name, layer)
    if name == ".":
        return
    target = _inside(rootfs, rootfs / name, layer, member.name)
    if member.islnk():
        link = safe_member_name(member.linkname, layer)
        _inside(rootfs, rootfs / link, layer, member.linkname)
        member.linkname = link
    keep_dir = member.isdir() and target.is_dir() and not target.is_symlink()
    if (target.is_symlink() or target.exists()) and not keep_dir:
        _remove(target)
    member.name = name
    tar.extract(member, path=rootfs, set_attrs=True, numeric_owner=True, filter="fully_trusted")


def apply_layer(blob: Path, rootfs: Path, layer: str = "") -> None:
    """Apply the layer tarball ``blob`` (tar or tar+gzip) on top of ``rootfs``."""
    label = layer or blob.name
    try:
        with tarfile.open(blob, "r:*") as tar:
            members = tar.getmembers()
            _apply_whiteouts(members, rootfs, label)
            for member in members:
                base = posixpath.basename(member.name.rstrip("/"))
                if not base.startswith(WHITEOUT_PREFIX):
                    _extract(tar, member, rootfs, label)
    except tarfile.TarError as exc:
        raise ImageFormatError(f"layer {label}: not a readable tar (gzip or plain): {exc}") from exc


def unpack_layers(blobs: list[Path], rootfs: Path) -> None:
    """Build ``rootfs`` from ``blobs`` (bottom layer first); ``rootfs`` is created."""
    rootfs.mkdir(parents=True, exist_ok=True)
    os.chmod(rootfs, 0o755)
    for blob in blobs:
        apply_layer(blob, rootfs, blob.name[:12])
