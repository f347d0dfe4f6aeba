"""The layers of docs/architecture.md, checked: imports go one way.

Each berth package may import only the packages listed for it here (and
itself). A new package must be added on purpose, with its place in the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "berth"

ALLOWED: dict[str, set[str]] = {
    "api": set(),
    "store": {"api"},
    "client": {"api"},
    "host": {"api"},
    "images": {"api", "host"},
    "cni": {"api", "host"},
    "controllers": {"api", "client", "store"},
    "server": {"api", "store", "controllers"},
    "netagent": {"api", "client", "host", "cni"},
    "proxy": {"api", "client", "host"},
    "dns": {"api", "client"},
    "node": {"api", "client", "cni", "host", "images", "netagent", "proxy", "dns"},
    # the one-machine cluster and init/join orchestrate whole processes: just below cli
    "cluster": {"api", "client", "host", "images", "cni", "netagent", "node", "server",
                "store", "controllers"},
    "testing": {"api", "store", "client", "host", "images", "cni", "server", "node"},
    "cli": {"*"},
}


def _berth_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "berth" and len(parts) > 1:
                found.add(parts[1])
    return found


def _packages() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir()
                  if p.is_dir() and (p / "__init__.py").exists())


def test_every_package_has_a_place_in_the_layers() -> None:
    assert set(_packages()) <= set(ALLOWED), set(_packages()) - set(ALLOWED)


@pytest.mark.parametrize("package", _packages())
def test_imports_go_one_way(package: str) -> None:
    allowed = ALLOWED.get(package, set())
    if "*" in allowed:
        return
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for target in _berth_imports(path) - allowed - {package}:
            bad.append(f"{path.relative_to(ROOT.parent)} imports berth.{target}")
    assert not bad, "\n".join(bad)
