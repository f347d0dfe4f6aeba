"""``berth image import|ls|rm`` over a private image store."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from berth.images.busybox import build_busybox_layout
from tests.integration.node.conftest import BERTH

pytestmark = pytest.mark.root


def image(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BERTH, "image", "--image-dir", str(store), *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_import_list_and_remove(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (layers keep owners)")
    layout = tmp_path / "layout"
    build_busybox_layout(layout, name="example.org/tools/bb:1.0")
    store = tmp_path / "store"
    imported = image(store, "import", str(layout))
    assert imported.returncode == 0, imported.stderr
    assert "example.org/tools/bb:1.0" in imported.stdout
    tagged = image(store, "import", str(layout), "--name", "mybox:dev")
    assert tagged.returncode == 0, tagged.stderr
    listed = image(store, "ls").stdout.splitlines()
    assert listed[0].split() == ["NAME", "IMAGE", "ID", "SIZE"]
    names = {line.split()[0] for line in listed[1:]}
    assert names == {"example.org/tools/bb:1.0", "docker.io/library/mybox:dev"}
    untag = image(store, "rm", "mybox:dev")
    assert (untag.returncode, untag.stdout.strip()) == (0, "untagged mybox:dev")
    gone = image(store, "rm", "example.org/tools/bb:1.0")
    assert gone.returncode == 0 and gone.stdout.startswith("deleted sha256:")
    assert image(store, "ls").stdout.splitlines()[1:] == []
    missing = image(store, "rm", "nothing:here")
    assert missing.returncode == 1 and "nothing" in missing.stderr
    bad = image(store, "import", str(tmp_path / "absent.tar"))
    assert bad.returncode == 1 and "absent.tar" in bad.stderr
