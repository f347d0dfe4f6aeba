"""The two small C helpers of the runtime: ``berth-pause`` and ``berth-monitor``.

Both are built static (``gcc -static -Os``) from the sources beside this
module: the pause process holds a pod sandbox's namespaces, the monitor keeps
one container's pipes, log and exit status (see ``pause.c``, ``monitor.c``).
``make setup`` builds them into ``berth/host/bin``; when that copy is missing
or older than its source, ``ensure_helper`` builds one into a cache directory
(the runtime's state dir) once, atomically, and returns its path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from berth.host.runtime_errors import HelperBuildError

SOURCE_DIR = Path(__file__).resolve().parent
PACKAGE_BIN_DIR = SOURCE_DIR / "bin"
HELPERS = {"berth-pause": "pause.c", "berth-monitor": "monitor.c"}


def _fresh(binary: Path, source: Path) -> bool:
    try:
        return binary.stat().st_mtime >= source.stat().st_mtime and os.access(binary, os.X_OK)
    except FileNotFoundError:
        return False


def build_helper(name: str, dest_dir: Path) -> Path:
    """Compile helper ``name`` into ``dest_dir`` (atomic rename) and return its path."""
    source = SOURCE_DIR / HELPERS[name]
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise HelperBuildError(f"cannot build {name}: no C compiler (apt-get install gcc libc6-dev)")
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / name
    tmp = dest_dir / f".{name}.{os.getpid()}.tmp"
    cmd = [compiler, "-static", "-Os", "-s", "-o", str(tmp), str(source)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise HelperBuildError(f"cannot build {name} from {source}: {done.stderr.strip()}")
    os.replace(tmp, target)
    return target


def ensure_helper(name: str, cache_dir: Path) -> Path:
    """Path of an up-to-date ``name`` binary: the packaged one, else one built in ``cache_dir``."""
    if name not in HELPERS:
        raise HelperBuildError(f"unknown helper {name!r}; known: {', '.join(sorted(HELPERS))}")
    source = SOURCE_DIR / HELPERS[name]
    for candidate in (PACKAGE_BIN_DIR / name, cache_dir / name):
        if _fresh(candidate, source):
            return candidate
    return build_helper(name, cache_dir)
