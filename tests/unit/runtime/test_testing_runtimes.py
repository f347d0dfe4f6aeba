"""The containerd and podman helpers of berth.testing (used by bench/pods): their plans and images.

The pause image layout is read back with berth's own OCI layout reader and
imported into a berth ImageStore, so it is a valid image with ``/pause`` as
its entrypoint; the configs keep every path inside the given work dir.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from berth.images import ImageStore
from berth.images.formats import parse_config, read_oci_layout
from berth.testing.containerd import PAUSE_IMAGE, build_pause_layout, plan_config, tar_layout
from berth.testing.podman import plan_containers_conf


def test_pause_layout_is_an_image_with_pause_as_entrypoint(tmp_path: Path) -> None:
    binary = tmp_path / "pause-binary"
    binary.write_bytes(b"\x7fELF not really")
    build_pause_layout(tmp_path / "layout", binary)
    [image] = read_oci_layout(tmp_path / "layout")
    assert image.names == [PAUSE_IMAGE]
    assert parse_config(image.config).entrypoint == ["/pause"]
    [(_, layer)] = image.layers
    with tarfile.open(layer) as tar:
        member = tar.getmember("pause")
        assert member.mode == 0o755
        assert tar.extractfile(member).read() == binary.read_bytes()  # type: ignore[union-attr]
    archive = tar_layout(tmp_path / "layout", tmp_path / "pause.tar")
    with tarfile.open(archive) as tar:
        assert {"index.json", "oci-layout"} <= set(tar.getnames())
    store = ImageStore(tmp_path / "store")
    [imported] = store.import_path(archive)
    assert store.get(PAUSE_IMAGE).id == imported.id


def test_containerd_config_keeps_everything_under_work(tmp_path: Path) -> None:
    text = plan_config(tmp_path / "w", Path("/usr/lib/cni"), tmp_path / "net.d")
    assert "restrict_oom_score_adj = true" in text
    assert f'sandbox_image = "{PAUSE_IMAGE}"' in text
    for key in ("root", "state", "address", "path"):
        lines = [line.strip() for line in text.splitlines() if line.strip().startswith(key)]
        assert lines and all(f'"{tmp_path}/w/' in line for line in lines), key
    assert f'conf_dir = "{tmp_path}/net.d"' in text


def test_podman_conf_uses_cni_and_the_infra_image(tmp_path: Path) -> None:
    text = plan_containers_conf(Path("/usr/lib/cni"), tmp_path, "benchpod",
                                infra_image=PAUSE_IMAGE, infra_command="/pause")
    assert 'network_backend = "cni"' in text
    assert 'default_network = "benchpod"' in text
    assert f'infra_image = "{PAUSE_IMAGE}"' in text and 'infra_command = "/pause"' in text
    assert "nofile=" in text and "nproc=" in text
    assert "infra_image" not in plan_containers_conf(Path("/b"), tmp_path, "n")
