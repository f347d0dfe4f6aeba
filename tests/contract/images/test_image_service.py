"""The ImageService contract, on the real `ImageStore` (files under tmp_path) and the fake.

An image enters each the way that store takes it: the real one imports an
OCI layout built here (one small layer, the given config), the fake is
told the config. Everything after that - names, ids, lookups, snapshots,
untag/delete and the in-use guard - must behave the same.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from berth.images import Image, ImageInUse, ImageNotFound, ImageService, ImageStore
from berth.images.formats import MT_OCI_CONFIG, MT_OCI_INDEX, MT_OCI_LAYER, MT_OCI_MANIFEST
from berth.testing.fakes.images import FakeImageStore


def _blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def build_layout(layout: Path, cmd: list[str], env: list[str]) -> None:
    """An OCI image layout with one layer holding /hello and the given Cmd and Env."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello")
        info.size, info.mode = 3, 0o644
        tar.addfile(info, io.BytesIO(b"hi\n"))
    layer = {"mediaType": MT_OCI_LAYER, **_blob(layout, buf.getvalue())}
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": cmd, "Env": env},
              "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}
    config_desc = {"mediaType": MT_OCI_CONFIG, **_blob(layout, json.dumps(config).encode())}
    manifest = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST, "config": config_desc,
                "layers": [layer]}
    index = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [
        {"mediaType": MT_OCI_MANIFEST, **_blob(layout, json.dumps(manifest).encode())}]}
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')


@dataclass
class Images:
    service: ImageService
    add: Callable[..., Image]  # add(name, cmd=[...], env=[...])


@pytest.fixture(params=["fake", "real"])
def images(request: pytest.FixtureRequest, tmp_path: Path) -> Images:
    if request.param == "fake":
        fake = FakeImageStore(tmp_path / "fake", busybox=False)

        def add_fake(name: str, cmd: list[str] | None = None,
                     env: list[str] | None = None) -> Image:
            return fake.add(name, cmd=cmd or ["sh"], env=env or [])

        return Images(fake, add_fake)
    store = ImageStore(tmp_path / "store")
    count = [0]

    def add_real(name: str, cmd: list[str] | None = None,
                 env: list[str] | None = None) -> Image:
        count[0] += 1
        layout = tmp_path / f"layout{count[0]}"
        build_layout(layout, cmd or ["sh"], env or [])
        return store.import_path(layout, name, unpack=False)[0]

    return Images(store, add_real)


def test_an_image_is_found_by_normalized_name_id_and_id_prefix(images: Images) -> None:
    image = images.add("tools/box:1.0", cmd=["run"], env=["A=1"])
    svc = images.service
    assert image.names == ["docker.io/tools/box:1.0"]
    assert image.id.startswith("sha256:") and len(image.id) == 71
    assert (image.config.cmd, image.config.env) == (["run"], ["A=1"])
    for ref in ("tools/box:1.0", "docker.io/tools/box:1.0", image.id, image.id[7:19]):
        assert svc.resolve(ref) == image.id
        assert svc.get(ref) == image
    assert svc.list_images() == [image]


def test_a_missing_image_is_not_found_naming_it(images: Images) -> None:
    images.add("busybox")
    with pytest.raises(ImageNotFound, match="'nginx' not found"):
        images.service.get("nginx")
    with pytest.raises(ImageNotFound):
        images.service.resolve("sha256:" + "0" * 64)


def test_the_same_config_is_the_same_image_and_a_name_moves_to_the_newest(
        images: Images) -> None:
    first = images.add("app:v1", cmd=["one"])
    again = images.add("app:v2", cmd=["one"])
    assert again.id == first.id
    assert images.service.get("app:v1").names == ["docker.io/library/app:v1",
                                                  "docker.io/library/app:v2"]
    newer = images.add("app:v1", cmd=["two"])
    assert newer.id != first.id
    assert images.service.resolve("app:v1") == newer.id
    assert images.service.get(first.id).names == ["docker.io/library/app:v2"]


def test_ensure_snapshot_gives_a_directory_once(images: Images) -> None:
    image = images.add("busybox")
    path = images.service.ensure_snapshot(image)
    assert path.is_dir()
    assert images.service.ensure_snapshot(image) == path


def test_remove_untags_a_name_and_deletes_the_last_one_unless_busy(images: Images) -> None:
    image = images.add("app:v1")
    images.add("app:v2")
    svc = images.service
    assert svc.remove("app:v1") == []
    assert svc.get(image.id).names == ["docker.io/library/app:v2"]
    with pytest.raises(ImageInUse, match="used by containers"):
        svc.remove("app:v2", busy=frozenset({image.id}))
    assert svc.remove("app:v2") == [image.id]
    assert svc.list_images() == []
    with pytest.raises(ImageNotFound):
        svc.get(image.id)
