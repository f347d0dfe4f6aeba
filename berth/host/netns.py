"""Named network namespaces (/run/netns/NAME) and entering them, without ``ip`` or forks.

``create_netns`` makes a namespace the way ``ip netns add`` does: a helper
thread ``unshare``s its own network namespace and bind-mounts
``/proc/thread-self/ns/net`` onto /run/netns/NAME (the directory is made a
shared mount first, as iproute2 does, so other mount namespaces see it).
``delete_netns`` detaches and removes the mount; links inside die with it.
``entered(path)`` switches only the calling thread's network namespace and
switches back on exit: sockets opened inside stay bound to that namespace, and
children forked inside start there.  Only the network namespace is entered, so
the host's mounts (cgroups, /sys) stay visible.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from berth.host.errors import NetnsError, NetnsNotFound

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise NetnsError(f"{what}: {os.strerror(err)}")


def netns_path(name_or_path: str) -> str:
    """A name (``berth-x``) -> /run/netns/berth-x; a path is returned as it is."""
    return name_or_path if "/" in name_or_path else os.path.join(NETNS_DIR, name_or_path)


def exists(name_or_path: str) -> bool:
    return os.path.exists(netns_path(name_or_path))


def list_netns(prefix: str = "berth-") -> list[str]:
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []


def _ensure_netns_dir() -> None:
    os.makedirs(NETNS_DIR, mode=0o755, exist_ok=True)
    rc = _libc.mount(b"none", NETNS_DIR.encode(), None, MS_SHARED | MS_REC, None)
    if rc == 0:
        return
    if ctypes.get_errno() != errno.EINVAL:
        _check(rc, f"make {NETNS_DIR} shared")
    # Not a mount point yet: bind it onto itself, then make it shared (as iproute2 does).
    _check(_libc.mount(NETNS_DIR.encode(), NETNS_DIR.encode(), b"none", MS_BIND | MS_REC, None),
           f"bind {NETNS_DIR}")
    _check(_libc.mount(b"none", NETNS_DIR.encode(), None, MS_SHARED | MS_REC, None),
           f"make {NETNS_DIR} shared")


def create_netns(name: str) -> str:
    """Create /run/netns/NAME; raises ``NetnsError`` if it exists. Returns the path."""
    path = netns_path(name)
    _ensure_netns_dir()
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))
    except FileExistsError as exc:
        raise NetnsError(f"network namespace {name!r} already exists") from exc
    failure: list[BaseException] = []

    def pin() -> None:
        try:
            _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
            src = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
            _check(_libc.mount(src, path.encode(), b"none", MS_BIND, None), f"bind {path}")
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=pin, name=f"netns-{name}")
    worker.start()
    worker.join()
    if failure:
        os.unlink(path)
        raise failure[0]
    return path


def delete_netns(name: str) -> None:
    """Unmount and remove /run/netns/NAME; a missing namespace is fine."""
    path = netns_path(name)
    if not os.path.exists(path):
        return
    rc = _libc.umount2(path.encode(), MNT_DETACH)
    if rc != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
        _check(rc, f"umount {path}")
    with suppress(FileNotFoundError):
        os.unlink(path)


def open_netns(name_or_path: str) -> int:
    """An O_RDONLY fd on the namespace; ``NetnsNotFound`` if it does not exist."""
    path = netns_path(name_or_path)
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise NetnsNotFound(f"network namespace {path} does not exist") from exc
    except OSError as exc:
        raise NetnsError(f"open {path}: {exc.strerror}") from exc


def setns(fd: int) -> None:
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


@contextmanager
def entered(name_or_path: str) -> Iterator[None]:
    """Run the block with the calling thread inside the namespace; always switch back."""
    target = open_netns(name_or_path)
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(target)
        try:
            yield
        finally:
            setns(original)
    finally:
        os.close(target)
        os.close(original)
