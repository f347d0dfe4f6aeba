"""``berth demo``: its story is well-formed (fast), and it runs whole on a real cluster (slow).

The fast test checks what can break without a cluster: every step has a
title, a sentence and a function; the manifests the demo applies decode
strictly and validate, except the seed's own, which must fail with exactly
the two errors the demo tells about.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from berth.api.decode import decode_yaml, unknown_fields
from berth.api.defaults import apply_defaults
from berth.api.validation import validate
from berth.cli import demo
from berth.cli import demo_manifests as m

BERTH = str(Path(sys.executable).with_name("berth"))


def problems(text: str) -> list[str]:
    out = []
    for obj in decode_yaml(text, "demo"):
        out += [str(e) for e in unknown_fields(obj)]
        apply_defaults(obj)
        out += [str(e) for e in validate(obj)]
    return out


def test_demo_steps_and_manifests_are_well_formed() -> None:
    assert len(demo.STEPS) >= 8
    titles = [s.title for s in demo.STEPS]
    assert len(set(titles)) == len(titles)
    assert all(s.title and s.shows.endswith(".") and callable(s.run) for s in demo.STEPS)
    for text in (m.FIXED_MANIFEST, m.APP_WITH_SIDECAR, m.HELLO_DAEMONSET,
                 m.port80_pod("port80-a", "node1")):
        assert problems(text) == [], text
    seed = problems(m.SEED_MANIFEST)
    assert any("spec.container" in p for p in seed), seed
    assert any("metadata.name" in p for p in seed), seed


def test_the_sidecar_example_decodes_and_validates() -> None:
    example = Path(__file__).parents[3] / "examples" / "app-with-sidecar.yaml"
    assert problems(example.read_text()) == []


@pytest.mark.slow
@pytest.mark.root
def test_berth_demo_runs_whole_and_leaves_nothing() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    # A short TMPDIR: the demo's cluster home holds unix sockets (108-byte path limit).
    tmp_path = Path(tempfile.mkdtemp(prefix="bd-", dir="/tmp"))
    try:
        name = "dm" + os.urandom(2).hex()
        done = subprocess.run([BERTH, "demo", "--name", name, "--underlay", "198.18.93.0/24"],
                              capture_output=True, text=True, timeout=400, check=False,
                              env={**os.environ, "TMPDIR": str(tmp_path)})
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr
        assert "== 8/8" in done.stdout and "cluster removed" in done.stdout
        assert (tmp_path / f"berth-{name}-cluster.svg").exists()
        left = [line for cmd in (["ip", "netns", "list"], ["ip", "-br", "link"], ["ip", "route"])
                for line in subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()
                if name in line or "198.18.93." in line]
        assert left == []
        assert not list(tmp_path.glob("berth-demo-*"))
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)
