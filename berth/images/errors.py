"""Errors of the local image store (``berth.images``).

Each names the file, field or image reference at fault, so the CLI can print
it as it is::

    ImageError
    ├── InvalidReference     an image name that docker's grammar rejects
    ├── ImageNotFound        no image in the store under this name or id
    ├── ImageFormatError     an archive/layout/manifest/config that cannot be read
    │   └── DigestMismatch   a blob whose content does not match its digest
    └── ImageInUse           removal refused: containers still use the image
"""

from __future__ import annotations


class ImageError(Exception):
    """Base of the image store's errors."""


class InvalidReference(ImageError):
    """The image reference is not a valid docker-style name."""


class ImageNotFound(ImageError):
    """No image in the store matches the reference or id."""


class ImageFormatError(ImageError):
    """An image layout, archive, manifest or config is malformed or unsupported."""


class DigestMismatch(ImageFormatError):
    """A blob's sha256 differs from the digest that names it."""


class ImageInUse(ImageError):
    """The image is still used and cannot be removed."""
