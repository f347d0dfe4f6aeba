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
