"""The layers of docs/architecture.md, checked: imports go one way.

Each berth package may import only the packages listed for it here (and
itself). A new package must be added on purpose, with its place in the layers.
The services a process runs (kubelet role, network agent, proxy, DNS, the
controllers) import none of each other: only ``berth.daemon`` puts them
together.  Third-party libraries with a job of their own stay in the package
that does that job (``LIBRARIES``): netlink only in ``host``, the datastores
only in ``store``, terminal output only in ``cli``.
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
    # the services: each on the layers below, none on another
    "controllers": {"api", "client"},
    "netagent": {"api", "client", "host", "cni"},
    "proxy": {"api", "client", "host"},
    "dns": {"api", "client"},
    "node": {"api", "client", "cni", "host", "images"},
    "server": {"api", "store"},
    # process assembly: a node process, a server process
    "daemon": {"api", "client", "cni", "host", "images", "store", "server", "controllers",
               "node", "netagent", "proxy", "dns"},
    # the one-machine cluster and init/join orchestrate whole processes: just below cli
    "cluster": {"api", "client", "host", "images", "cni", "netagent", "node", "server"},
    "testing": {"api", "store", "client", "host", "images", "cni", "server", "node"},
    "cli": {"*"},
}
SERVICES = ("controllers", "netagent", "proxy", "dns", "node", "server")

# third-party library -> the packages that may import it
LIBRARIES: dict[str, set[str]] = {
    "pyroute2": {"host"},
    "aetcd": {"store"},
    "sqlite3": {"store"},
    "grpc": {"store", "testing"},
    "dns": {"dns"},  # dnspython
    "rich": {"cli"},
    "cryptography": {"server", "node"},
    "aiohttp": {"client", "server", "node", "daemon", "cluster", "cli"},
    "yaml": {"api", "client", "server", "cli"},
}


def _imports(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _berth_imports(path: Path) -> set[str]:
    return {name.split(".")[1] for name in _imports(path)
            if name.startswith("berth.") and len(name.split(".")) > 1}


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


def test_services_import_none_of_each_other() -> None:
    for service in SERVICES:
        assert not (ALLOWED[service] & set(SERVICES)), (service, ALLOWED[service])


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_libraries_stay_in_their_package(library: str) -> None:
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        package = path.relative_to(ROOT).parts[0]
        if package in LIBRARIES[library]:
            continue
        if any(name == library or name.startswith(library + ".") for name in _imports(path)):
            bad.append(f"{path.relative_to(ROOT.parent)} imports {library}")
    assert not bad, "\n".join(bad)
