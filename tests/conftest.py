"""Shared pytest configuration: skip tiers whose requirements the machine lacks, bound time.

Every test has a time limit (pytest-timeout, ``timeout`` in pyproject.toml: 120 s
for setup, call and teardown together); tests marked ``slow`` (end to end) get
``SLOW_TIMEOUT`` unless they carry their own ``timeout`` marker.  The limit is
enforced with SIGALRM (``timeout_method = "signal"``) so a timed-out test fails
and the run goes on.  When the alarm finds an asyncio loop running (an async
test), ``_cancel_asyncio_test`` prints every task's stack and cancels the
tasks, so the test's own cleanup (finally blocks, async fixtures) still runs;
if the loop does not come back within ``GRACE`` seconds (a blocking call on the
loop's thread), the plugin's plain handler fails the test where it stands.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from berth.testing.etcd import EtcdCluster

SLOW_TIMEOUT = 600.0  # seconds, for tests marked slow (end to end)
GRACE = 30.0  # seconds an async test gets to unwind after its tasks are cancelled


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    is_root = os.geteuid() == 0
    # In CI every requirement is installed by `make setup`: a missing one is a failure, not a skip.
    strict = bool(os.environ.get("CI"))
    # --timeout on the command line (e.g. --timeout=0 under a debugger) wins over the slow limit
    slow_limit = config.getoption("timeout", None) is None
    for item in items:
        if slow_limit and "slow" in item.keywords and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))
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


def _cancel_asyncio_test(loop: asyncio.AbstractEventLoop, limit: float) -> None:
    """On the loop: print the stack of every task, then cancel them all (the test fails)."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    out = sys.stderr
    print(f"\n{'+' * 20} Timeout >{limit:g}s: cancelling {len(tasks)} asyncio task(s) "
          f"{'+' * 20}", file=out)
    for task in tasks:
        task.print_stack(file=out)
    for task in tasks:
        task.cancel(f"test timed out after {limit:g} s")


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """The signal method, asyncio-aware (see the module docstring); other cases: the plugin."""
    import pytest_timeout

    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None
    armed = [True]  # False once the test is over or failed the hard way: cancel nothing then

    def hard(signum: int, frame: object) -> None:
        __tracebackhide__ = True
        armed[0] = False
        pytest_timeout.timeout_sigalrm(item, settings)

    def cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
        if armed[0]:
            _cancel_asyncio_test(loop, settings.timeout)

    def soft(signum: int, frame: object) -> None:
        __tracebackhide__ = True
        loop = asyncio._get_running_loop()
        if loop is None:  # a plain test (or between loops): fail where it stands
            hard(signum, frame)
            return
        # call_soon_threadsafe wakes the loop's selector; a loop blocked in a sync call
        # never runs the callback, and the grace alarm fails the test instead
        loop.call_soon_threadsafe(cancel_tasks, loop)
        signal.signal(signal.SIGALRM, hard)
        signal.setitimer(signal.ITIMER_REAL, GRACE)

    def cancel() -> None:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined]
    signal.signal(signal.SIGALRM, soft)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """One single-member etcd on loopback ports for the whole run, always stopped."""
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"), size=1)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def resource() -> str:
    """A resource key no other test uses (the etcd above is shared by the session)."""
    return f"widgets{uuid.uuid4().hex[:8]}"
