"""A minimal pause image for runtimes that need one (containerd's sandbox_image), built offline.

``build_pause_archive(work, ref)`` puts berth's static pause binary into an OCI
image layout with umoci (entrypoint /pause, ref name ``ref``) and tars the layout,
ready for ``ctr images import``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PAUSE = Path(__file__).resolve().parents[3] / "berth" / "host" / "bin" / "berth-pause"


def build_pause_archive(work: Path, ref: str = "pause") -> Path:
    layout = work / "oci"
    image = f"{layout}:{ref}"
    rootfs = work / "rootfs"
    rootfs.mkdir(parents=True)
    shutil.copy2(PAUSE, rootfs / "pause")
    for cmd in (["umoci", "init", "--layout", str(layout)],
                ["umoci", "new", "--image", image],
                ["umoci", "insert", "--image", image, str(rootfs / "pause"), "/pause"],
                ["umoci", "config", "--image", image, "--config.entrypoint", "/pause"]):
        subprocess.run(cmd, check=True, capture_output=True)
    archive = work / "pause.tar"
    subprocess.run(["tar", "-C", str(layout), "-cf", str(archive), "."], check=True)
    return archive
