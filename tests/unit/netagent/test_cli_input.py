"""Bad input to ``berth up`` is one clear line naming the flag, and nothing is made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BERTH = str(Path(sys.executable).with_name("berth"))


@pytest.mark.parametrize(("args", "words"), [
    (["--pod-network-cidr", "10.96.0.0/16"], "overlaps"),
    (["--node-cidr-mask-size", "8"], "--node-cidr-mask-size"),
    (["--underlay-mtu", "600"], "--underlay-mtu"),
    (["--name", "Bad_Name"], "--name"),
    (["--nodes", "0"], "--nodes"),
])
def test_bad_input_is_one_clear_line_and_makes_nothing(tmp_path: Path, args: list[str],
                                                       words: str) -> None:
    home = tmp_path / "home"
    done = subprocess.run([BERTH, "up", *args], env={**os.environ, "BERTH_HOME": str(home)},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and words in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not home.exists()


def test_down_and_status_without_a_cluster_say_so(tmp_path: Path) -> None:
    env = {**os.environ, "BERTH_HOME": str(tmp_path)}
    for verb in ("down", "status"):
        done = subprocess.run([BERTH, verb], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 1 and "no cluster is up" in done.stderr
