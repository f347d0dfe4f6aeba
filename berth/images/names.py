"""Image references normalized as docker does (pure functions, no I/O).

``busybox`` -> ``docker.io/library/busybox:latest``; ``me/app:1`` ->
``docker.io/me/app:1``; ``localhost:5000/app`` keeps its registry; a
``@sha256:...`` digest is kept and no default tag is added.  The first path
component is a registry only when it contains ``.`` or ``:`` or is
``localhost``, as in docker's reference grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from berth.images.errors import InvalidReference

DEFAULT_REGISTRY = "docker.io"
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REGISTRY = re.compile(r"^[a-zA-Z0-9.-]+(?::[0-9]+)?$")


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Parse and normalize ``text``; raises ``InvalidReference`` saying what is wrong."""
    raw = text.strip()
    if not raw:
        raise InvalidReference("image reference is empty")
    name, _, digest = raw.partition("@")
    if digest and not _DIGEST.match(digest):
        raise InvalidReference(f"image {text!r}: digest must be sha256:<64 hex>")
    tag = ""
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.match(tag):
            raise InvalidReference(f"image {text!r}: invalid tag {tag!r}")
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, path = parts[0], parts[1:]
        if not _REGISTRY.match(registry):
            raise InvalidReference(f"image {text!r}: invalid registry {registry!r}")
    else:
        registry, path = DEFAULT_REGISTRY, parts
    if registry == DEFAULT_REGISTRY and len(path) == 1:
        path = ["library", *path]
    for component in path:
        if not _COMPONENT.match(component):
            raise InvalidReference(
                f"image {text!r}: invalid repository component {component!r} "
                "(lowercase letters, digits and . _ - only)"
            )
    if not tag and not digest:
        tag = "latest"
    return Reference(registry=registry, repository="/".join(path), tag=tag, digest=digest)


def normalize_name(text: str) -> str:
    """The canonical full name of ``text`` (``busybox`` -> ``docker.io/library/busybox:latest``)."""
    return str(parse_reference(text))


def is_image_id(text: str) -> bool:
    """True for ``sha256:<hex>`` or a hex prefix of at least 12 characters."""
    bare = text.removeprefix("sha256:")
    return len(bare) >= 12 and all(c in "0123456789abcdef" for c in bare)
