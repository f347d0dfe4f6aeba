"""The ``ImageService`` protocol: what the node (its runtime and image verbs) asks of images.

`store.ImageStore` is the real one (blobs and snapshots on disk); the
runtime resolves a container's image with ``get`` and asks for its
unpacked rootfs with ``ensure_snapshot``; ``berth image ls/rm`` list and
remove. How images get in (``ImageStore.import_path`` of a layout or an
archive, a registry pull later) is the implementation's business, so it is
not part of the protocol. `berth.testing.fakes.images.FakeImageStore`
implements it in memory; tests/contract/images holds both to one contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from berth.images.store import Image


class ImageService(Protocol):
    """Local images by name or id; errors are `berth.images.errors` types."""

    def get(self, ref: str) -> Image:
        """The image named ``ref`` (normalized like docker) or with this id/prefix."""
        ...

    def resolve(self, ref: str) -> str:
        """The image id of ``ref``; ImageNotFound naming it when there is none."""
        ...

    def list_images(self) -> list[Image]: ...

    def ensure_snapshot(self, image: Image) -> Path:
        """A directory holding the image's unpacked rootfs (read-only to callers)."""
        ...

    def remove(self, ref: str, *, busy: frozenset[str] = frozenset()) -> list[str]:
        """Untag a name, or delete an image (by id or its last name); ids deleted.

        ImageInUse when the image to delete is in ``busy``.
        """
        ...
