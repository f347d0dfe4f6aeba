"""Reading image sources: OCI image layouts, OCI archives and docker archives.

Every source is turned into the same thing, a list of ``SourceImage``: the
names it carries, the OCI manifest and config bytes, and where each layer
blob lies on disk, so the store has one import path.  Archives are unpacked
into a scratch directory first.  A docker archive (``docker save``/skopeo
``docker-archive``) has no OCI manifest: one is synthesized from its
``manifest.json`` entry with sha256 digests of the config and layer files.
Also here: ``ImageConfig``, the part of an image config a runtime needs.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from berth.images.errors import ImageFormatError
from berth.images.unpack import safe_member_name

MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = {MT_OCI_INDEX, MT_DOCKER_LIST}
MANIFEST_TYPES = {MT_OCI_MANIFEST, MT_DOCKER_MANIFEST}
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


@dataclass(frozen=True)
class ImageConfig:
    """What a runtime takes from an image config (OCI ``config`` object)."""

    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    working_dir: str = ""
    user: str = ""
    stop_signal: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceImage:
    names: list[str]
    manifest: bytes
    config: bytes
    layers: list[tuple[str, Path]]  # (digest, file holding the blob)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as blob:
        for chunk in iter(lambda: blob.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def load_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ImageFormatError(f"{what}: invalid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ImageFormatError(f"{what}: expected a JSON object")
    return value


def parse_config(data: bytes, what: str = "image config") -> ImageConfig:
    """The runtime-relevant fields of an OCI/docker image config."""
    raw = load_json(data, what).get("config") or {}
    if not isinstance(raw, dict):
        raise ImageFormatError(f"{what}: field 'config' must be an object")

    def strings(key: str) -> list[str]:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ImageFormatError(f"{what}: field 'config.{key}' must be a list of strings")
        return list(value)

    return ImageConfig(
        entrypoint=strings("Entrypoint"), cmd=strings("Cmd"), env=strings("Env"),
        working_dir=str(raw.get("WorkingDir") or ""), user=str(raw.get("User") or ""),
        stop_signal=str(raw.get("StopSignal") or ""),
        labels={str(k): str(v) for k, v in (raw.get("Labels") or {}).items()},
    )


def _blob_path(layout: Path, digest: str, what: str) -> Path:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or not all(c in "0123456789abcdef" for c in hexpart):
        raise ImageFormatError(f"{what}: unsupported digest {digest!r} (sha256 only)")
    path = layout / "blobs" / algo / hexpart
    if not path.is_file():
        raise ImageFormatError(f"{what}: blob {digest} missing from {layout}")
    return path


def _manifests(layout: Path, index: dict[str, Any], what: str) -> list[tuple[dict[str, Any],
                                                                          dict[str, str]]]:
    """(manifest descriptor, annotations) pairs, choosing linux/amd64 from nested indexes."""
    found: list[tuple[dict[str, Any], dict[str, str]]] = []
    for desc in index.get("manifests") or []:
        annotations = dict(desc.get("annotations") or {})
        media = desc.get("mediaType", "")
        if media in INDEX_TYPES:
            nested = load_json(_blob_path(layout, desc["digest"], what).read_bytes(), what)
            chosen = [m for m in nested.get("manifests") or []
                      if (m.get("platform") or {}).get("architecture") in (None, "amd64")
                      and (m.get("platform") or {}).get("os") in (None, "linux")]
            if not chosen:
                raise ImageFormatError(f"{what}: no linux/amd64 image in index {desc['digest']}")
            found.append((chosen[0], annotations))
        elif media in MANIFEST_TYPES or not media:
            found.append((desc, annotations))
    if not found:
        raise ImageFormatError(f"{what}: index.json lists no image manifest")
    return found


def read_oci_layout(layout: Path, what: str = "") -> list[SourceImage]:
    """The images of an OCI image layout directory."""
    what = what or str(layout)
    if not (layout / "oci-layout").is_file():
        raise ImageFormatError(f"{what}: not an OCI image layout (no oci-layout file)")
    index = load_json((layout / "index.json").read_bytes(), f"{what}/index.json")
    images = []
    for desc, notes in _manifests(layout, index, what):
        manifest = _blob_path(layout, desc["digest"], what).read_bytes()
        parsed = load_json(manifest, f"{what} manifest {desc['digest']}")
        config_desc = parsed.get("config") or {}
        if "digest" not in config_desc:
            raise ImageFormatError(f"{what} manifest {desc['digest']}: no config descriptor")
        config = _blob_path(layout, config_desc["digest"], what).read_bytes()
        layers = [(layer["digest"], _blob_path(layout, layer["digest"], what))
                  for layer in parsed.get("layers") or []]
        name = notes.get(CONTAINERD_NAME) or notes.get(REF_NAME, "")
        images.append(SourceImage(names=[name] if name else [], manifest=manifest,
                                  config=config, layers=layers))
    return images


def _layer_media_type(path: Path) -> str:
    with open(path, "rb") as blob:
        return MT_OCI_LAYER_GZIP if blob.read(2) == b"\x1f\x8b" else MT_OCI_LAYER


def read_docker_archive(root: Path, what: str) -> list[SourceImage]:
    """The images of an unpacked docker archive (``manifest.json`` at its top)."""
    try:
        entries = json.loads((root / "manifest.json").read_bytes())
    except ValueError as exc:
        raise ImageFormatError(f"{what}: manifest.json: invalid JSON: {exc}") from exc
    if not isinstance(entries, list) or not entries:
        raise ImageFormatError(f"{what}: manifest.json must be a non-empty list")
    images = []
    for n, entry in enumerate(entries):
        where = f"{what}: manifest.json[{n}]"
        if not isinstance(entry, dict) or "Config" not in entry or "Layers" not in entry:
            raise ImageFormatError(f"{where}: needs fields Config and Layers")
        config_path = root / safe_member_name(entry["Config"], what)
        if not config_path.is_file():
            raise ImageFormatError(f"{where}: config file {entry['Config']} missing")
        config = config_path.read_bytes()
        layers, descriptors = [], []
        for rel in entry["Layers"]:
            path = root / safe_member_name(rel, what)
            if not path.is_file():
                raise ImageFormatError(f"{where}: layer file {rel} missing")
            digest = sha256_file(path)
            layers.append((digest, path))
            descriptors.append({"mediaType": _layer_media_type(path), "digest": digest,
                                "size": path.stat().st_size})
        manifest = {
            "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
            "config": {"mediaType": MT_OCI_CONFIG,
                       "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                       "size": len(config)},
            "layers": descriptors,
        }
        images.append(SourceImage(names=list(entry.get("RepoTags") or []),
                                  manifest=json.dumps(manifest, sort_keys=True).encode(),
                                  config=config, layers=layers))
    return images


def extract_archive(archive: Path, dest: Path) -> None:
    """Unpack an image archive (plain files and directories only) into ``dest``."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar.getmembers():
                if not (member.isfile() or member.isdir()):
                    continue
                member.name = safe_member_name(member.name, str(archive))
                tar.extract(member, path=dest, set_attrs=False, filter="fully_trusted")
    except tarfile.TarError as exc:
        raise ImageFormatError(f"{archive}: not a readable tar archive: {exc}") from exc


def read_source(path: Path, scratch: Path) -> list[SourceImage]:
    """Detect the format of ``path`` (layout dir, OCI archive, docker archive) and read it."""
    if path.is_dir():
        return read_oci_layout(path)
    if not path.is_file():
        raise ImageFormatError(f"{path}: no such file or directory")
    extract_archive(path, scratch)
    if (scratch / "oci-layout").is_file():
        return read_oci_layout(scratch, str(path))
    if (scratch / "manifest.json").is_file():
        return read_docker_archive(scratch, str(path))
    raise ImageFormatError(
        f"{path}: neither an OCI archive (oci-layout) nor a docker archive (manifest.json)"
    )
