"""No blocking system call written directly in a coroutine (docs/architecture.md, Concurrency).

A static check over ``berth``: inside every ``async def``, a call that can
block the event loop (file and /proc access, mount, netns, netlink, nft,
cgroupfs, programs, sleeps) must not be made directly; it belongs in a
synchronous step run through ``asyncio.to_thread`` (or a dedicated executor).
Only direct calls are seen, not blocking calls inside sync helpers, so this
is a tripwire, not a proof.  ``ALLOWED`` lists the few deliberate exceptions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "berth"

# Command-line programs, one-shot orchestration and test helpers may block: no loop of
# theirs serves anything while they do.
SKIPPED_PACKAGES = ("cli", "cluster", "testing")

# Modules whose functions block (host adapters and the stdlib's blocking modules).
BLOCKING_MODULES = {"shutil", "subprocess", "netns", "mounts", "cgroups", "netlink", "nft",
                    "sysctl", "conntrack", "fabric", "loopback"}
# os functions that do not wait: process ids, signals, environment, fd bookkeeping.
NON_BLOCKING_OS = {"environ", "getenv", "getpid", "getuid", "geteuid", "kill", "fspath",
                   "strerror", "cpu_count", "close", "set_blocking", "get_blocking"}
BLOCKING_TIME = {"sleep"}
# Path methods that touch the file system (Path.replace is also str.replace: see below).
BLOCKING_PATH_METHODS = {"read_text", "write_text", "read_bytes", "write_bytes", "mkdir",
                         "unlink", "iterdir", "exists", "is_dir", "is_file", "stat", "rmdir",
                         "rename", "touch", "glob", "rglob", "resolve", "chmod", "symlink_to"}

# (module path under berth/, coroutine name) -> why a direct call there is fine.
ALLOWED: dict[tuple[str, str], str] = {
    ("host/ttyexec.py", "start_tty_process"):
        "os.openpty and fd setup: no waiting (the pty is new)",
    ("host/ttyexec.py", "read"): "os.read on a non-blocking pty master, after add_reader",
    ("host/ttyexec.py", "write"): "os.write on a non-blocking pty master, after add_writer",
    ("server/run.py", "start_server"): "startup, before the server serves: data dir, PKI",
    ("store/sqlite.py", "open"): "startup: the database directory and its lock file",
    ("store/sqlite.py", "close"): "closing the lock file's descriptor",
}


def _blocking_call(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return "open" if func.id == "open" else None
    if not isinstance(func, ast.Attribute):
        return None
    base = func.value
    if isinstance(base, ast.Name):
        if base.id in BLOCKING_MODULES:
            return f"{base.id}.{func.attr}"
        if base.id == "os" and func.attr not in NON_BLOCKING_OS:
            return f"os.{func.attr}"
        if base.id == "time" and func.attr in BLOCKING_TIME:
            return f"time.{func.attr}"
    if func.attr in BLOCKING_PATH_METHODS:
        return f".{func.attr}()"
    return None


def _direct_calls(fn: ast.AsyncFunctionDef) -> list[ast.Call]:
    """Calls made by the coroutine itself (not by functions or lambdas defined in it),
    leaving out awaited ones (a coroutine of the same name does not block)."""
    found: list[ast.Call] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(child, ast.Call) and not isinstance(node, ast.Await):
                found.append(child)
            visit(child)

    visit(fn)
    return found


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py")
                  if p.relative_to(ROOT).parts[0] not in SKIPPED_PACKAGES)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_coroutines_make_no_blocking_call_directly(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    offenders = []
    for fn in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(fn, ast.AsyncFunctionDef) or (rel, fn.name) in ALLOWED:
            continue
        for call in _direct_calls(fn):
            what = _blocking_call(call)
            if what is not None:
                offenders.append(f"{rel}:{call.lineno} {fn.name}: {what}")
    assert not offenders, (
        "blocking calls on the event loop (run them with asyncio.to_thread):\n  "
        + "\n  ".join(offenders))


def test_the_allowed_list_names_existing_coroutines() -> None:
    for rel, name in ALLOWED:
        tree = ast.parse((ROOT / rel).read_text())
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)}
        assert name in names, f"ALLOWED names {rel}:{name}, which is not a coroutine"
