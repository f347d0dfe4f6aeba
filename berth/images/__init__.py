"""berth's local image store: import OCI layouts and archives, unpack snapshots.

``ImageStore`` keeps content-addressed blobs and per-image snapshots under a
root directory; ``busybox.ensure_busybox_image`` provides the built-in image.
``ImageService`` is the protocol the node uses (``ImageStore`` implements it).
"""

from berth.images.errors import (
    DigestMismatch,
    ImageError,
    ImageFormatError,
    ImageInUse,
    ImageNotFound,
    InvalidReference,
)
from berth.images.formats import ImageConfig
from berth.images.names import normalize_name
from berth.images.service import ImageService
from berth.images.store import Image, ImageStore

__all__ = [
    "DigestMismatch",
    "Image",
    "ImageConfig",
    "ImageError",
    "ImageFormatError",
    "ImageInUse",
    "ImageNotFound",
    "ImageService",
    "ImageStore",
    "InvalidReference",
    "normalize_name",
]
