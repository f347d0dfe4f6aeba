"""The local image store: content-addressed blobs, names, and unpacked snapshots.

Layout under the store's root::

    blobs/sha256/<hex>     manifests, configs and layers, verified on import
    images.json            image id (config digest) -> names, manifest, layers
    snapshots/<hex>/       the image's layers applied in order (read-only lowerdir)
    tmp/                   scratch space for imports and unpacking

Import reads a source through ``formats.read_source``, copies each blob in
while hashing it (a digest mismatch aborts the import), then records the
image under its normalized names; a name moves to the newest image that
claims it, as with docker tags.  ``ensure_snapshot`` unpacks an image once
into a temporary directory and renames it into place, so containers only ever
see complete snapshots.  Writers serialize on an flock of ``lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from berth.images.errors import DigestMismatch, ImageInUse, ImageNotFound
from berth.images.formats import ImageConfig, SourceImage, load_json, parse_config, read_source
from berth.images.names import is_image_id, normalize_name
from berth.images.unpack import unpack_layers


@dataclass(frozen=True)
class Image:
    id: str  # the config digest, sha256:<hex>
    names: list[str]
    manifest_digest: str
    layers: list[str]
    size: int
    config: ImageConfig = field(default_factory=ImageConfig)


class ImageStore:
    """Images kept under ``root``; safe to share between processes of one node."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("blobs/sha256", "snapshots", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    # -- bookkeeping -------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / "lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_index(self) -> dict[str, dict]:
        path = self.root / "images.json"
        if not path.exists():
            return {}
        return dict(load_json(path.read_bytes(), str(path)).get("images") or {})

    def _write_index(self, images: dict[str, dict]) -> None:
        tmp = self.root / "images.json.tmp"
        tmp.write_text(json.dumps({"images": images}, indent=1, sort_keys=True))
        os.replace(tmp, self.root / "images.json")

    def blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest.removeprefix("sha256:")

    def _add_blob(self, digest: str, source: Path | bytes, what: str) -> None:
        target = self.blob_path(digest)
        if target.exists():
            return
        tmp = self.root / "tmp" / f"blob.{os.getpid()}.{digest[7:19]}"
        hasher = hashlib.sha256()
        with open(tmp, "wb") as out:
            if isinstance(source, bytes):
                hasher.update(source)
                out.write(source)
            else:
                with open(source, "rb") as src:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        hasher.update(chunk)
                        out.write(chunk)
        if "sha256:" + hasher.hexdigest() != digest:
            tmp.unlink()
            raise DigestMismatch(f"{what}: content of blob {digest} has a different sha256")
        os.replace(tmp, target)

    def _to_image(self, image_id: str, entry: dict) -> Image:
        config = parse_config(self.blob_path(image_id).read_bytes(), f"image {image_id}")
        return Image(id=image_id, names=list(entry["names"]), manifest_digest=entry["manifest"],
                     layers=list(entry["layers"]), size=int(entry.get("size", 0)), config=config)

    # -- public API --------------------------------------------------------
    def import_path(self, path: Path, name: str | None = None, *, unpack: bool = True
                    ) -> list[Image]:
        """Import every image of a layout dir or archive; ``name`` tags the first one."""
        with tempfile.TemporaryDirectory(dir=self.root / "tmp") as scratch:
            sources = read_source(path, Path(scratch))
            if name is not None:
                sources[0] = SourceImage(names=[name], manifest=sources[0].manifest,
                                         config=sources[0].config, layers=sources[0].layers)
            ids = [self._import_one(source, str(path)) for source in sources]
        images = [self.get(image_id) for image_id in ids]
        if unpack:
            for image in images:
                self.ensure_snapshot(image)
        return images

    def _import_one(self, source: SourceImage, what: str) -> str:
        names = [normalize_name(n) for n in source.names]
        config_digest = "sha256:" + hashlib.sha256(source.config).hexdigest()
        manifest_digest = "sha256:" + hashlib.sha256(source.manifest).hexdigest()
        parse_config(source.config, f"{what}: config {config_digest}")
        for digest, blob in source.layers:
            self._add_blob(digest, blob, what)
        self._add_blob(config_digest, source.config, what)
        self._add_blob(manifest_digest, source.manifest, what)
        size = sum(self.blob_path(d).stat().st_size for d, _ in source.layers)
        with self._locked():
            images = self._read_index()
            for other in images.values():
                other["names"] = [n for n in other["names"] if n not in names]
            entry = images.get(config_digest, {"names": []})
            entry.update(manifest=manifest_digest, layers=[d for d, _ in source.layers],
                         size=size, names=sorted(set(entry["names"]) | set(names)))
            images[config_digest] = entry
            self._write_index(images)
        return config_digest

    def list_images(self) -> list[Image]:
        return [self._to_image(i, e) for i, e in sorted(self._read_index().items())]

    def resolve(self, ref: str) -> str:
        """The image id for a name (normalized) or an id/prefix; ``ImageNotFound`` else."""
        images = self._read_index()
        if is_image_id(ref):
            bare = ref.removeprefix("sha256:")
            hits = [i for i in images if i.removeprefix("sha256:").startswith(bare)]
            if len(hits) == 1:
                return hits[0]
        wanted = normalize_name(ref)
        for image_id, entry in images.items():
            if wanted in entry["names"]:
                return image_id
        raise ImageNotFound(f"image {ref!r} not found in the local store (as {wanted})")

    def get(self, ref: str) -> Image:
        image_id = self.resolve(ref)
        return self._to_image(image_id, self._read_index()[image_id])

    def snapshot_path(self, image: Image) -> Path:
        return self.root / "snapshots" / image.id.removeprefix("sha256:")

    def ensure_snapshot(self, image: Image) -> Path:
        """The unpacked rootfs of ``image``, unpacking it first if needed."""
        target = self.snapshot_path(image)
        if target.is_dir():
            return target
        work = Path(tempfile.mkdtemp(dir=self.root / "tmp", prefix="unpack."))
        try:
            unpack_layers([self.blob_path(d) for d in image.layers], work / "rootfs")
            with contextlib.suppress(FileExistsError, OSError):
                os.rename(work / "rootfs", target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not target.is_dir():
            raise ImageNotFound(f"image {image.id}: snapshot could not be created at {target}")
        return target

    def remove(self, ref: str, *, busy: frozenset[str] = frozenset()) -> list[str]:
        """Untag ``ref`` (a name) or delete it (an id); returns the ids deleted.

        An image whose id is in ``busy`` (used by containers) keeps its snapshot.
        """
        image_id = self.resolve(ref)
        deleted = []
        with self._locked():
            images = self._read_index()
            entry = images[image_id]
            if is_image_id(ref) or len(entry["names"]) <= 1:
                if image_id in busy:
                    raise ImageInUse(f"image {ref!r} ({image_id[:19]}) is used by containers")
                del images[image_id]
                deleted.append(image_id)
            else:
                entry["names"] = [n for n in entry["names"] if n != normalize_name(ref)]
            self._write_index(images)
            if deleted:
                self._collect_garbage(images, image_id, entry)
        return deleted

    def _collect_garbage(self, images: dict[str, dict], image_id: str, entry: dict) -> None:
        shutil.rmtree(self.root / "snapshots" / image_id.removeprefix("sha256:"),
                      ignore_errors=True)
        live = {d for e in images.values() for d in (*e["layers"], e["manifest"])} | set(images)
        for digest in (*entry["layers"], entry["manifest"], image_id):
            if digest not in live:
                self.blob_path(digest).unlink(missing_ok=True)
