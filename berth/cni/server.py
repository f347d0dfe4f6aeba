"""The long-lived side of berth's CNI fast path: plugin handlers served over a unix socket.

``FastPathServer`` listens where ``berth.cni.fastpath`` clients connect (by
default /run/berth/cni.sock, mode 0600, peers must be root or our own uid).
Each connection gets a thread that reads one request (plugin name, the
caller's environment and stdin, the caller's network namespace as an
SCM_RIGHTS fd), enters that namespace when it differs from the server's own
(``setns`` affects only that thread), runs the same ``skel.dispatch`` the
exec'd plugin would, switches back and replies ``b"<status>\\n" + stdout``.

Plugins are created once, with a ``Background`` runner: bridge DEL releases
the IP synchronously and leaves the slow veth deletion (~32 ms, an RCU grace
period) to a background thread; an ADD for the same attachment waits for it.

Embedding (the node agent)::

    server = FastPathServer("/run/berth/cni.sock")
    server.start()          # returns at once; threads serve until stop()
    ...
    server.stop()           # closes the socket, finishes background deletions
"""

from __future__ import annotations

import importlib
import io
import os
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress

from berth.cni.errors import CNIError, InternalError
from berth.cni.fastpath import DEFAULT_SOCKET, MAGIC, PLUGINS
from berth.cni.skel import Plugin, dispatch
from berth.host import netns

MAX_REQUEST = 16 << 20


class Background:
    """Jobs run after the reply, each in the network namespace it was queued from.

    ``defer(key, job)`` starts ``job`` in a thread inside the caller thread's
    namespace; ``wait(key)`` blocks until every job queued under ``key`` is done.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, list[threading.Thread]] = {}

    def defer(self, key: str, job: Callable[[], None]) -> None:
        ns_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)

        def body() -> None:
            try:
                with suppress(Exception), netns.entered(f"/proc/self/fd/{ns_fd}"):
                    job()
            finally:
                os.close(ns_fd)
                with self._lock:
                    self._pending[key].remove(thread)
                    if not self._pending[key]:
                        del self._pending[key]

        thread = threading.Thread(target=body, name=f"cni-bg-{key}", daemon=True)
        with self._lock:
            self._pending.setdefault(key, []).append(thread)
        thread.start()

    def wait(self, key: str | None = None) -> None:
        """Wait for the jobs of ``key`` (all jobs when None)."""
        with self._lock:
            threads = [t for k, ts in self._pending.items() if key in (None, k) for t in ts]
        for thread in threads:
            thread.join()


def make_plugins(background: Background | None = None) -> dict[str, Plugin]:
    """One handler per berth plugin name; those that take a ``background`` runner get it."""
    out: dict[str, Plugin] = {}
    for name, (module, cls) in PLUGINS.items():
        factory = getattr(importlib.import_module(module), cls)
        try:
            out[name] = factory(background=background)
        except TypeError:
            out[name] = factory()
    return out


def decode_request(data: bytes) -> tuple[str, dict[str, str], bytes]:
    """``(plugin, env, stdin)`` from the wire format of ``fastpath.encode_request``."""
    header, sep, rest = data.partition(b"\n")
    parts = header.split(b" ")
    if not sep or len(parts) != 3 or parts[0] != MAGIC or not parts[2].isdigit():
        raise InternalError("berth fast path: malformed request header", repr(header[:64]))
    size = int(parts[2])
    env: dict[str, str] = {}
    for item in rest[:size].split(b"\0"):
        key, eq, value = item.partition(b"=")
        if eq:
            env[os.fsdecode(key)] = os.fsdecode(value)
    return parts[1].decode(), env, rest[size:]


class FastPathServer:
    """Serve berth's plugin handlers on a unix socket (see the module docstring)."""

    def __init__(self, path: str = DEFAULT_SOCKET,
                 plugins: Mapping[str, Plugin] | None = None) -> None:
        self.path = path
        self.background = Background()
        self.plugins = dict(plugins) if plugins is not None else make_plugins(self.background)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._own_ns = os.stat("/proc/thread-self/ns/net").st_ino
        self._uid = os.getuid()

    def start(self) -> None:
        """Bind (replacing a stale socket file) and serve in a daemon thread."""
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o755, exist_ok=True)
        with suppress(FileNotFoundError):
            os.unlink(self.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            sock.bind(self.path)
        finally:
            os.umask(old_umask)
        sock.listen(256)
        self._sock = sock
        self._own_ns = os.stat("/proc/thread-self/ns/net").st_ino
        self._thread = threading.Thread(target=self._accept_loop, name="cni-fastpath",
                                        daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self.start()
        assert self._thread is not None
        self._thread.join()

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with suppress(FileNotFoundError):
                os.unlink(self.path)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.background.wait()

    def __enter__(self) -> FastPathServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            fds: list[int] = []
            try:
                if not self._peer_allowed(conn):
                    return
                data, fds = _receive(conn)
                status, out = self.handle(data, fds[0] if fds else None)
                conn.sendall(b"%d\n" % status + out)
            except OSError:
                pass  # the client went away; nothing to answer
            finally:
                for fd in fds:
                    os.close(fd)

    def _peer_allowed(self, conn: socket.socket) -> bool:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _, uid, _ = struct.unpack("3i", creds)
        return uid in (0, self._uid)

    def handle(self, data: bytes, ns_fd: int | None) -> tuple[int, bytes]:
        """Run one request in the caller's namespace; ``(exit status, stdout)``."""
        out = io.StringIO()
        try:
            name, env, stdin = decode_request(data)
            plugin = self.plugins.get(name)
            if plugin is None:
                raise InternalError(f"berth fast path: unknown plugin {name!r}")
        except CNIError as exc:
            return 1, (_json(exc.to_dict("1.0.0")) + "\n").encode()
        try:
            if ns_fd is None or os.fstat(ns_fd).st_ino == self._own_ns:
                status = dispatch(plugin, env, stdin, out)
            else:
                with netns.entered(f"/proc/self/fd/{ns_fd}"):
                    status = dispatch(plugin, env, stdin, out)
        except Exception as exc:  # entering the caller's namespace failed
            err = InternalError(f"berth fast path: {type(exc).__name__}", str(exc))
            return 1, (_json(err.to_dict("1.0.0")) + "\n").encode()
        return status, out.getvalue().encode()


def _receive(conn: socket.socket) -> tuple[bytes, list[int]]:
    fds: list[int] = []
    chunks: list[bytes] = []
    size = 0
    first = True
    while True:
        if first:
            msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * 4))
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    usable = len(payload) - len(payload) % 4
                    fds.extend(struct.unpack(f"{usable // 4}i", payload[:usable]))
            first = False
        else:
            msg = conn.recv(65536)
        if not msg:
            return b"".join(chunks), fds
        chunks.append(msg)
        size += len(msg)
        if size > MAX_REQUEST:
            raise OSError("request too large")


def _json(obj: object) -> str:
    import json

    return json.dumps(obj)
