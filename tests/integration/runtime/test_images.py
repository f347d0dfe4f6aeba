"""The image store: names, the built-in busybox, archives made by skopeo, layers, errors."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from berth.images import (
    DigestMismatch,
    ImageFormatError,
    ImageNotFound,
    ImageStore,
    InvalidReference,
    normalize_name,
)
from berth.images.busybox import IMAGE_NAME, build_busybox_layout


@pytest.mark.parametrize(("given", "normal"), [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("me/app", "docker.io/me/app:latest"),
    ("docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("localhost:5000/app", "localhost:5000/app:latest"),
    ("localhost/app:v1", "localhost/app:v1"),
    ("quay.io/org/app:1.0", "quay.io/org/app:1.0"),
    ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64),
])
def test_names_are_normalized_like_docker(given: str, normal: str) -> None:
    assert normalize_name(given) == normal


@pytest.mark.parametrize(("bad", "why"), [
    ("", "empty"), ("BusyBox", "invalid repository component"),
    ("busybox:bad tag", "invalid tag"), ("busybox@sha256:12", "digest"),
])
def test_bad_names_say_what_is_wrong(bad: str, why: str) -> None:
    with pytest.raises(InvalidReference, match=why):
        normalize_name(bad)


def test_busybox_image_has_every_applet_and_users(images: ImageStore) -> None:
    image = images.get("busybox")
    assert image.names == [IMAGE_NAME] and image.config.cmd == ["sh"]
    rootfs = images.ensure_snapshot(image)
    applets = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    assert len(applets) > 200
    busybox_inode = (rootfs / "bin" / "busybox").stat().st_ino
    for applet in applets:
        assert (rootfs / applet).stat().st_ino == busybox_inode, applet
    assert (rootfs / "etc" / "passwd").read_text().startswith("root:x:0:0:")
    assert (rootfs / "tmp").stat().st_mode & 0o7777 == 0o1777


def test_busybox_layout_is_reproducible(tmp_path: Path) -> None:
    build_busybox_layout(tmp_path / "a")
    build_busybox_layout(tmp_path / "b")
    assert (tmp_path / "a" / "index.json").read_bytes() == (tmp_path / "b" / "index.json"
                                                            ).read_bytes()


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo")
@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive"])
def test_imports_archives_made_by_skopeo(tmp_path: Path, transport: str) -> None:
    build_busybox_layout(tmp_path / "layout", name="latest")
    archive = tmp_path / f"image.{transport}.tar"
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", f"oci:{tmp_path / 'layout'}:latest",
                    f"{transport}:{archive}:example.com/tools/box:1.0"],
                   check=True, capture_output=True)
    store = ImageStore(tmp_path / "store")
    (image,) = store.import_path(archive)
    assert image.names == ["example.com/tools/box:1.0"]
    assert store.get("example.com/tools/box:1.0").id == image.id
    assert image.config.cmd == ["sh"]
    assert (store.ensure_snapshot(image) / "bin" / "sh").exists()
    assert [i.id for i in store.list_images()] == [image.id]
    assert store.remove("example.com/tools/box:1.0") == [image.id]
    assert store.list_images() == []
    assert not store.snapshot_path(image).exists()
    assert list((tmp_path / "store" / "blobs" / "sha256").iterdir()) == []


def _tar(entries: list[tuple[str, bytes | None]]) -> bytes:
    """A layer: (name, content) files; content None makes a directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _layout(path: Path, layers: list[bytes], name: str = "localhost/layered:1") -> None:
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    config = json.dumps({"config": {"Entrypoint": ["/bin/app"], "StopSignal": "SIGQUIT"},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = {"schemaVersion": 2, "config": blob(config),
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **blob(x)}
                           for x in layers]}
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            **blob(json.dumps(manifest).encode()),
            "annotations": {"org.opencontainers.image.ref.name": name}}
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [desc]}))
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')


def test_layers_apply_in_order_with_whiteouts(tmp_path: Path) -> None:
    lower = _tar([("etc", None), ("etc/keep", b"1"), ("etc/gone", b"2"), ("data", None),
                  ("data/old", b"3"), ("data/sub", None), ("data/sub/deep", b"4")])
    upper = _tar([("etc/.wh.gone", b""), ("data/.wh..wh..opq", b""), ("data/new", b"5"),
                  ("etc/keep", b"changed")])
    _layout(tmp_path / "layout", [lower, upper])
    store = ImageStore(tmp_path / "store")
    (image,) = store.import_path(tmp_path / "layout")
    assert image.config.entrypoint == ["/bin/app"] and image.config.stop_signal == "SIGQUIT"
    rootfs = store.ensure_snapshot(image)
    assert sorted(p.name for p in (rootfs / "etc").iterdir()) == ["keep"]
    assert (rootfs / "etc" / "keep").read_bytes() == b"changed"
    assert sorted(p.name for p in (rootfs / "data").iterdir()) == ["new"]


def test_a_layer_cannot_write_outside_the_snapshot(tmp_path: Path) -> None:
    _layout(tmp_path / "layout", [_tar([("../../escape", b"x")])])
    store = ImageStore(tmp_path / "store")
    with pytest.raises(ImageFormatError, match="outside the rootfs"):
        store.import_path(tmp_path / "layout")
    assert not (tmp_path / "escape").exists()


def test_a_corrupt_blob_is_refused(tmp_path: Path) -> None:
    _layout(tmp_path / "layout", [_tar([("file", b"x")])])
    blobs = sorted((tmp_path / "layout" / "blobs" / "sha256").iterdir(),
                   key=lambda p: p.stat().st_size)
    layer = next(p for p in blobs if tarfile.is_tarfile(p))
    layer.write_bytes(layer.read_bytes().replace(b"file", b"fil3"))
    with pytest.raises(DigestMismatch, match=layer.name):
        ImageStore(tmp_path / "store").import_path(tmp_path / "layout")


def test_unreadable_sources_name_the_file(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    with pytest.raises(ImageFormatError, match="no such file"):
        store.import_path(tmp_path / "missing.tar")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all")
    with pytest.raises(ImageFormatError, match=r"junk\.tar"):
        store.import_path(junk)
    with pytest.raises(ImageNotFound, match="nothing-here"):
        store.get("nothing-here")
