"""``berth cni install DIR``: put berth's plugins into any CNI bin dir as standalone executables.

A runtime (containerd, podman, berth's own client) execs plugins by name from
its bin dir with a minimal environment: no venv on PATH, no PYTHONPATH.  Each
installed plugin is therefore a three-line wrapper script whose shebang is
this interpreter with ``-IS`` (no site-packages scan: ~10 ms to start instead
of ~40 ms) and which puts berth's source directory on ``sys.path`` itself,
then runs the thin fast-path client (``berth.cni.fastpath``).  With
``mode="symlink"`` the entries are symlinks to the console scripts next to
``sys.executable`` instead (slower start, same behaviour).

``plan_install`` is pure (what to write where); ``apply_install`` writes each
file atomically (temporary name, chmod 0755, rename), replacing older copies.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from berth.cni.errors import CNIError
from berth.cni.fastpath import PLUGINS


class InstallError(CNIError):
    """The bin dir cannot be written, or a console script to link to is missing."""


@dataclass(frozen=True)
class Entry:
    name: str
    path: Path
    content: str = ""       # wrapper script text (mode "wrapper")
    target: str = ""        # symlink target (mode "symlink")


def source_root() -> str:
    """The directory holding the ``berth`` package (what ``sys.path`` needs)."""
    import berth

    return str(Path(berth.__file__).resolve().parent.parent)


def render_wrapper(plugin: str, python: str, root: str) -> str:
    return (f"#!{python} -IS\n"
            f"# berth CNI plugin {plugin}, written by `berth cni install`\n"
            f"import sys\nsys.path.insert(0, {root!r})\n"
            f"from berth.cni.fastpath import run\nrun({plugin!r})\n")


def plan_install(bin_dir: Path, mode: str = "wrapper", python: str = "",
                 root: str = "", plugins: list[str] | None = None) -> list[Entry]:
    python = python or sys.executable
    names = plugins if plugins is not None else list(PLUGINS)
    if mode == "wrapper":
        root = root or source_root()
        return [Entry(n, bin_dir / n, content=render_wrapper(n, python, root)) for n in names]
    if mode == "symlink":
        scripts = Path(python).parent
        return [Entry(n, bin_dir / n, target=str(scripts / n)) for n in names]
    raise InstallError(f"mode: expected 'wrapper' or 'symlink', got {mode!r}")


def apply_install(entries: list[Entry]) -> list[Path]:
    missing = [e.target for e in entries if e.target and not os.path.exists(e.target)]
    if missing:
        raise InstallError(f"{', '.join(missing)}: console script missing",
                           "install berth with pip first")
    out: list[Path] = []
    for entry in entries:
        tmp = entry.path.with_name(f".{entry.name}.tmp")
        try:
            entry.path.parent.mkdir(parents=True, exist_ok=True)
            if tmp.exists() or tmp.is_symlink():
                tmp.unlink()
            if entry.target:
                tmp.symlink_to(entry.target)
            else:
                tmp.write_text(entry.content, encoding="utf-8")
                tmp.chmod(0o755)
            os.replace(tmp, entry.path)
        except OSError as exc:
            raise InstallError(f"{entry.path}: cannot install", exc.strerror or str(exc)) from exc
        out.append(entry.path)
    return out


def install(bin_dir: str | Path, mode: str = "wrapper") -> list[Path]:
    return apply_install(plan_install(Path(bin_dir), mode))
