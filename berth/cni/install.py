"""``berth cni install DIR``: put berth's plugins into any CNI bin dir as standalone executables.

A runtime (containerd, podman, berth's own client) execs plugins by name from
its bin dir with a minimal environment: no venv on PATH, no PYTHONPATH.  Modes:

- ``native`` (the default when a C compiler is found): ``fastpath.c`` compiled
  with this interpreter's path and berth's source directory built in; ~1 ms
  to start, it talks to the fast-path server itself and execs the Python
  client only when no server answers.
- ``wrapper`` (the default otherwise): a three-line script whose shebang is
  this interpreter with ``-IS`` (no site-packages scan: ~10 ms to start
  instead of ~40 ms), which puts berth's source directory on ``sys.path`` and
  runs the thin client ``berth.cni.fastpath``.
- ``symlink``: symlinks to the console scripts next to ``sys.executable``.

``plan_install`` is pure (what to write where); ``build_native`` compiles;
``apply_install`` writes each file atomically (temporary name, chmod 0755,
rename), replacing older copies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
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
    binary: str = ""        # compiled client to copy (mode "native")


def source_root() -> str:
    """The directory holding the ``berth`` package (what ``sys.path`` needs)."""
    import berth

    return str(Path(berth.__file__).resolve().parent.parent)


def render_wrapper(plugin: str, python: str, root: str) -> str:
    return (f"#!{python} -IS\n"
            f"# berth CNI plugin {plugin}, written by `berth cni install`\n"
            f"import sys\nsys.path.insert(0, {root!r})\n"
            f"from berth.cni.fastpath import run\nrun({plugin!r})\n")


def find_compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def build_native(python: str, root: str, out: Path) -> None:
    """Compile ``fastpath.c`` into ``out`` with ``python`` and ``root`` built in."""
    compiler = find_compiler()
    if compiler is None:
        raise InstallError("mode native: no C compiler (cc or gcc) on PATH",
                           "use --mode wrapper")
    source = Path(__file__).with_name("fastpath.c")
    cmd = [compiler, "-O2", "-o", str(out), f"-DBERTH_PYTHON={_c_string(python)}",
           f"-DBERTH_ROOT={_c_string(root)}", str(source)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InstallError(f"mode native: {compiler} failed on {source}", proc.stderr.strip())


def _c_string(text: str) -> str:
    if any(c in text for c in "\"'\n"):
        raise InstallError(f"mode native: path {text!r} cannot be built into the client")
    return f'"{text}"'


def plan_install(bin_dir: Path, mode: str = "wrapper", python: str = "",
                 root: str = "", plugins: list[str] | None = None,
                 binary: str = "") -> list[Entry]:
    python = python or sys.executable
    names = plugins if plugins is not None else list(PLUGINS)
    if mode == "native":
        if not binary:
            raise InstallError("mode native: no compiled client to install")
        return [Entry(n, bin_dir / n, binary=binary) for n in names]
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
            elif entry.binary:
                shutil.copyfile(entry.binary, tmp)
                tmp.chmod(0o755)
            else:
                tmp.write_text(entry.content, encoding="utf-8")
                tmp.chmod(0o755)
            os.replace(tmp, entry.path)
        except OSError as exc:
            raise InstallError(f"{entry.path}: cannot install", exc.strerror or str(exc)) from exc
        out.append(entry.path)
    return out


def install(bin_dir: str | Path, mode: str = "auto") -> list[Path]:
    """Install every berth plugin into ``bin_dir``; ``auto`` is native when cc exists."""
    if mode == "auto":
        mode = "native" if find_compiler() else "wrapper"
    if mode != "native":
        return apply_install(plan_install(Path(bin_dir), mode))
    with tempfile.TemporaryDirectory(prefix="berth-cni-build-") as tmp:
        binary = Path(tmp) / "berth-cni-client"
        build_native(sys.executable, source_root(), binary)
        return apply_install(plan_install(Path(bin_dir), "native", binary=str(binary)))
