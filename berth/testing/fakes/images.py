"""An in-memory `ImageService`: images are a name and a config, snapshots are empty dirs.

`FakeImageStore.add(name, ...)` stands for importing an image: the id is
the sha256 of the config (as with real images, the same config is the same
image), names are normalized like docker's and move to the newest image
that claims them, removal untags or deletes and refuses images in use.
``ensure_snapshot`` hands out an empty directory per image (created under
``root`` when one is given), which is all a fake runtime needs. It passes
tests/contract/images beside the real `berth.images.ImageStore`.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from berth.images.errors import ImageInUse, ImageNotFound
from berth.images.formats import ImageConfig
from berth.images.names import is_image_id, normalize_name
from berth.images.store import Image

BUSYBOX = "docker.io/library/busybox:latest"
BUSYBOX_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class FakeImageStore:
    """Images in a dict; with ``busybox=True`` it starts with berth's built-in image's config."""

    def __init__(self, root: Path | None = None, *, busybox: bool = True) -> None:
        self._root = root
        self._images: dict[str, Image] = {}
        if busybox:
            self.add(BUSYBOX, cmd=["sh"], env=[BUSYBOX_PATH])

    def add(self, name: str, *, entrypoint: list[str] | None = None,
            cmd: list[str] | None = None, env: list[str] | None = None,
            working_dir: str = "", user: str = "", stop_signal: str = "") -> Image:
        """Import an image called ``name`` with this config (``name`` moves to it)."""
        config = ImageConfig(entrypoint=list(entrypoint or []), cmd=list(cmd or []),
                             env=list(env or []), working_dir=working_dir, user=user,
                             stop_signal=stop_signal)
        text = json.dumps(config.__dict__, sort_keys=True).encode()
        image_id = "sha256:" + hashlib.sha256(text).hexdigest()
        normal = normalize_name(name)
        for other_id, other in list(self._images.items()):
            if normal in other.names:
                self._images[other_id] = _with_names(other, [n for n in other.names
                                                             if n != normal])
        old = self._images.get(image_id)
        names = sorted(set(old.names if old else []) | {normal})
        self._images[image_id] = Image(
            id=image_id, names=names,
            manifest_digest="sha256:" + hashlib.sha256(b"manifest" + text).hexdigest(),
            layers=[], size=0, config=config)
        return self._images[image_id]

    # -- ImageService ------------------------------------------------------------------
    def resolve(self, ref: str) -> str:
        if is_image_id(ref):
            bare = ref.removeprefix("sha256:")
            hits = [i for i in self._images if i.removeprefix("sha256:").startswith(bare)]
            if len(hits) == 1:
                return hits[0]
        wanted = normalize_name(ref)
        for image_id, image in self._images.items():
            if wanted in image.names:
                return image_id
        raise ImageNotFound(f"image {ref!r} not found in the local store (as {wanted})")

    def get(self, ref: str) -> Image:
        return self._images[self.resolve(ref)]

    def list_images(self) -> list[Image]:
        return [self._images[i] for i in sorted(self._images)]

    def ensure_snapshot(self, image: Image) -> Path:
        if image.id not in self._images:
            raise ImageNotFound(f"image {image.id} is not in the store")
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="berth-fake-images."))
        target = self._root / "snapshots" / image.id.removeprefix("sha256:")
        target.mkdir(parents=True, exist_ok=True)
        return target

    def remove(self, ref: str, *, busy: frozenset[str] = frozenset()) -> list[str]:
        image_id = self.resolve(ref)
        image = self._images[image_id]
        if is_image_id(ref) or len(image.names) <= 1:
            if image_id in busy:
                raise ImageInUse(f"image {ref!r} ({image_id[:19]}) is used by containers")
            del self._images[image_id]
            return [image_id]
        self._images[image_id] = _with_names(image, [n for n in image.names
                                                     if n != normalize_name(ref)])
        return []


def _with_names(image: Image, names: list[str]) -> Image:
    return Image(id=image.id, names=names, manifest_digest=image.manifest_digest,
                 layers=image.layers, size=image.size, config=image.config)
