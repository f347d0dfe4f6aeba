"""The built-in ``busybox`` image, built offline from Debian's busybox-static.

``build_busybox_layout`` writes a complete OCI image layout by berth's own
code: one uncompressed tar layer holding the static ``/bin/busybox``, a hard
link for every applet that ``busybox --list-full`` reports (sh, httpd, wget,
nc, nslookup, ping, ...), /etc/passwd and /etc/group, and the usual empty
directories; then the config (Cmd ``sh``, a standard PATH), the manifest and
index.json, every blob named by its sha256.  The tar is deterministic (sorted
entries, fixed times and owners), so the same busybox binary always gives the
same image id.  ``ensure_busybox_image`` imports it into a store once as
``docker.io/library/busybox:latest``.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

from berth.images.errors import ImageFormatError, ImageNotFound
from berth.images.formats import (
    MT_OCI_CONFIG,
    MT_OCI_INDEX,
    MT_OCI_LAYER,
    MT_OCI_MANIFEST,
    REF_NAME,
)
from berth.images.store import Image, ImageStore

BUSYBOX_BINARY = Path("/bin/busybox")
IMAGE_NAME = "docker.io/library/busybox:latest"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = 0
DIRS = {
    "bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o755, "root": 0o700,
    "sbin": 0o755, "sys": 0o755, "tmp": 0o1777, "usr": 0o755, "usr/bin": 0o755,
    "usr/sbin": 0o755, "var": 0o755, "var/www": 0o755, "var/spool": 0o755,
    "var/spool/mail": 0o755, "home/nobody": 0o755,
}
PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
mail:x:8:
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""


def list_applets(busybox: Path) -> list[str]:
    """Relative paths of every applet link (``bin/sh``, ``usr/bin/wget``, ...)."""
    try:
        done = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True,
                              check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ImageFormatError(
            f"{busybox}: cannot list applets ({exc}); install busybox-static") from exc
    return sorted({line.strip().lstrip("/") for line in done.stdout.splitlines() if line.strip()})


def _info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, "root", "root"
    return info


def build_layer(busybox: Path) -> bytes:
    """The image's only layer, as uncompressed tar bytes."""
    applets = [a for a in list_applets(busybox) if a != "bin/busybox"]
    dirs = dict(DIRS)
    for applet in applets:
        parent = applet.rpartition("/")[0]
        while parent:
            dirs.setdefault(parent, 0o755)
            parent = parent.rpartition("/")[0]
    binary = busybox.read_bytes()
    files = {"etc/passwd": PASSWD.encode(), "etc/group": GROUP.encode()}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(dirs):
            tar.addfile(_info(name + "/", tarfile.DIRTYPE, dirs[name]))
        tar.addfile(_info("bin/busybox", tarfile.REGTYPE, 0o755, len(binary)), io.BytesIO(binary))
        for name, data in sorted(files.items()):
            tar.addfile(_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
        for applet in applets:
            tar.addfile(_info(applet, tarfile.LNKTYPE, 0o755, link="bin/busybox"))
    return buf.getvalue()


def _write_blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def build_busybox_layout(layout: Path, busybox: Path = BUSYBOX_BINARY,
                         name: str = IMAGE_NAME) -> None:
    """Write the busybox image as an OCI image layout directory at ``layout``."""
    if not busybox.is_file():
        raise ImageFormatError(f"{busybox}: not found; install the busybox-static package")
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    layer = build_layer(busybox)
    layer_desc = {"mediaType": MT_OCI_LAYER, **_write_blob(layout, layer)}
    config = {
        "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
        "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
        "history": [{"created": "1970-01-01T00:00:00Z",
                     "created_by": "berth: busybox-static with every applet linked"}],
    }
    config_desc = {"mediaType": MT_OCI_CONFIG, **_write_blob(layout, _canonical(config))}
    manifest = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST, "config": config_desc,
                "layers": [layer_desc]}
    manifest_desc = {"mediaType": MT_OCI_MANIFEST, **_write_blob(layout, _canonical(manifest)),
                     "annotations": {REF_NAME: name}}
    index = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [manifest_desc]}
    (layout / "index.json").write_bytes(_canonical(index))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')


def ensure_busybox_image(store: ImageStore, busybox: Path = BUSYBOX_BINARY) -> Image:
    """The busybox image in ``store``, building and importing it if it is absent."""
    try:
        return store.get(IMAGE_NAME)
    except ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(dir=store.root / "tmp") as scratch:
        build_busybox_layout(Path(scratch) / "layout", busybox)
        return store.import_path(Path(scratch) / "layout")[0]
