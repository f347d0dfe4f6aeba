"""Shared pytest configuration: skip tiers whose requirements the machine lacks."""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    is_root = os.geteuid() == 0
    # In CI every requirement is installed by `make setup`: a missing one is a failure, not a skip.
    strict = bool(os.environ.get("CI"))
    for item in items:
        if "root" in item.keywords and not is_root:
            item.add_marker(pytest.mark.skip(reason="needs root"))
        if "etcd" in item.keywords and shutil.which("etcd") is None and not strict:
            item.add_marker(pytest.mark.skip(reason="needs etcd (apt-get install etcd-server)"))
        if "kubectl" in item.keywords and shutil.which("kubectl") is None and not strict:
            item.add_marker(pytest.mark.skip(reason="needs kubectl"))


def _root_namespace_berth_objects() -> set[str]:
    """berth-named things in the root network namespace: netns, links, nft tables."""
    import subprocess

    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""

    found = {f"netns {line.split()[0]}" for line in run("ip", "netns", "list").splitlines()
             if line.startswith("berth")}
    for line in run("ip", "-o", "link").splitlines():
        name = line.split(": ")[1].split("@")[0] if ": " in line else ""
        if name.startswith(("bth", "berth")):
            found.add(f"link {name}")
    found |= {f"nft {line.strip()}" for line in run("nft", "list", "tables").splitlines()
              if "berth" in line}
    return found


@pytest.fixture(scope="session", autouse=True)
def _root_namespace_is_left_as_found() -> object:
    """Every test must remove what it made: at the end of the run, nothing berth-named that
    was not there at the start may remain in the root namespace (hard rule)."""
    if os.geteuid() != 0:
        yield None
        return
    before = _root_namespace_berth_objects()
    yield None
    left = sorted(_root_namespace_berth_objects() - before)
    assert not left, f"the test run left these in the root namespace: {left}"
