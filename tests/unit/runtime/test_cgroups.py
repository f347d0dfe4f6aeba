"""berth.host.cgroups over fake cgroup trees (plain directories under tmp_path).

The trees mimic the three layouts: v1, hybrid (v1 + a cgroup2 ``unified``
mount, as on this machine) and unified v2. A cgroup2 mount is recognised by
its ``cgroup.controllers`` file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.host.cgroups import (
    existing_cgroup_dirs,
    hierarchies,
    remove_empty_cgroup,
    teardown_cgroup_tree,
)
from berth.host.runtime_errors import CgroupError


def _hybrid(tmp_path: Path) -> Path:
    for name in ("cpu", "memory", "systemd", "unified"):
        (tmp_path / name).mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("hugetlb\n")
    return tmp_path


def _make_pod(root: Path, bases: list[str], rel: str = "berth/n1/podabc") -> None:
    for base in bases:
        (root / base / rel / "ctr1").mkdir(parents=True)
        (root / base / rel / "ctr2").mkdir(parents=True)


def test_hybrid_layout_walks_the_unified_cgroup2_mount_too(tmp_path: Path) -> None:
    root = _hybrid(tmp_path)
    assert [p.name for p in hierarchies(root)] == ["cpu", "memory", "systemd", "unified"]
    _make_pod(root, ["cpu", "memory", "systemd", "unified"])
    assert len(existing_cgroup_dirs("/berth/n1/podabc", root)) == 4
    teardown_cgroup_tree("/berth/n1/podabc", root)
    assert existing_cgroup_dirs("/berth/n1/podabc", root) == []
    assert not (root / "unified" / "berth" / "n1" / "podabc").exists()
    # the node's parent stays until it is removed on its own
    remove_empty_cgroup("/berth/n1", root)
    assert existing_cgroup_dirs("/berth/n1", root) == []


def test_v1_host_without_unified_mount(tmp_path: Path) -> None:
    for name in ("cpu", "memory"):
        (tmp_path / name).mkdir()
    # a plain directory named unified (no cgroup2 mount) is not a hierarchy
    (tmp_path / "unified").mkdir()
    assert [p.name for p in hierarchies(tmp_path)] == ["cpu", "memory"]


def test_unified_v2_host(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    assert hierarchies(tmp_path) == [tmp_path]
    _make_pod(tmp_path, ["."])
    teardown_cgroup_tree("berth/n1/podabc", tmp_path)
    assert not (tmp_path / "berth" / "n1" / "podabc").exists()


def test_gone_is_fine_and_root_is_refused(tmp_path: Path) -> None:
    root = _hybrid(tmp_path)
    teardown_cgroup_tree("/berth/n1/missing", root)
    remove_empty_cgroup("/berth/n1/missing", root)
    with pytest.raises(CgroupError, match="root cgroup"):
        teardown_cgroup_tree("/", root)


def test_a_busy_cgroup_is_an_error_naming_it(tmp_path: Path) -> None:
    root = _hybrid(tmp_path)
    _make_pod(root, ["unified"])
    # a file stands in for a process: rmdir fails (ENOTEMPTY on a plain fs)
    (root / "unified" / "berth" / "n1" / "podabc" / "ctr1" / "cgroup.procs").write_text("1\n")
    with pytest.raises(CgroupError, match="unified/berth/n1/podabc/ctr1"):
        teardown_cgroup_tree("/berth/n1/podabc", root)
