"""The exec'd side of berth's CNI fast path: a thin client that imports (almost) nothing.

An exec'd berth plugin must not pay ~240 ms for importing pyroute2 on every
call, so its entry point (``bridge()``, ``host_local()``, ... below, or the
wrapper scripts ``berth cni install`` writes, which run Python with ``-IS``)
only imports ``_socket``, ``os`` and ``sys``: it connects to the unix socket of
a long-lived ``berth.cni.server.FastPathServer`` (embedded in the node agent,
or ``berth cni serve``) and sends one request::

    b"BCNI1 <plugin> <env length>\\n" + env ("K=V" joined by NUL) + stdin

with the caller's network namespace (``/proc/self/ns/net``) attached as
SCM_RIGHTS, so the server does the work where the runtime asked for it.  The
reply is ``b"<exit status>\\n" + stdout``; the client prints it and exits with
that status.  When no server answers (no socket file, connection refused),
the same handler runs in this process: slow (site-packages and pyroute2 are
imported then) but correct.

Socket: ``$BERTH_CNI_SOCKET`` if set (``off`` disables the fast path), else the
network configuration's ``"berthSocket"`` field (only parsed when stdin holds
that key), else ``/run/berth/cni.sock``.
"""

from __future__ import annotations

import os
import sys

DEFAULT_SOCKET = "/run/berth/cni.sock"
SOCKET_ENV = "BERTH_CNI_SOCKET"
CONF_FIELD = "berthSocket"
MAGIC = b"BCNI1"

#: plugin executable name -> (module, Plugin class) run by the server or in-process
PLUGINS: dict[str, tuple[str, str]] = {
    "berth-bridge": ("berth.cni.plugins.bridge", "Bridge"),
    "berth-host-local": ("berth.cni.plugins.host_local", "HostLocal"),
    "berth-loopback": ("berth.cni.plugins.loopback", "Loopback"),
    "berth-portmap": ("berth.cni.plugins.portmap", "Portmap"),
    "berth-net": ("berth.cni.plugins.net", "Net"),
}


def socket_path(env: dict[bytes, bytes], stdin: bytes) -> str | None:
    """Where the fast-path server listens for this call; None when it is switched off."""
    value = env.get(SOCKET_ENV.encode())
    if value is not None:
        text = value.decode()
        return None if text in ("", "off") else text
    if CONF_FIELD.encode() in stdin:
        import json

        try:
            conf = json.loads(stdin)
        except ValueError:
            conf = None  # the handler reports the decoding error with its code
        field = conf.get(CONF_FIELD) if isinstance(conf, dict) else None
        if isinstance(field, str):
            return field or None
    return DEFAULT_SOCKET


def encode_request(plugin: str, env: dict[bytes, bytes], stdin: bytes) -> bytes:
    block = b"\0".join(k + b"=" + v for k, v in env.items())
    return b"%s %s %d\n" % (MAGIC, plugin.encode(), len(block)) + block + stdin


def call_server(path: str, request: bytes) -> bytes | None:
    """Send ``request`` with our network namespace; the raw reply, or None if no server."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
        except OSError:
            return None
        ns_fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, ns_fd.to_bytes(4, sys.byteorder))]
            sent = sock.sendmsg([request], rights)
        finally:
            os.close(ns_fd)
        while sent < len(request):
            sent += sock.send(request[sent:])
        sock.shutdown(_socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        sock.close()


def run(plugin: str) -> None:
    """Entry point body: the fast path if a server answers, the handler in-process if not."""
    stdin = b"" if os.isatty(0) else _read_all(0)
    env = dict(os.environb)
    path = socket_path(env, stdin)
    reply = call_server(path, encode_request(plugin, env, stdin)) if path else None
    if path is None or reply is None:
        sys.exit(run_in_process(plugin, stdin))
    status, _, out = reply.partition(b"\n")
    if not status.isdigit():
        out = (b'{"cniVersion": "1.0.0", "code": 11, "msg": "berth fast path: the server at '
               + path.encode() + b' closed the connection", "details": ""}\n')
        status = b"1"
    os.write(1, out)
    sys.exit(int(status))


def run_in_process(plugin: str, stdin: bytes) -> int:
    """The same handler in this process (site-packages are added if Python ran with -S)."""
    if sys.flags.no_site:
        import site

        site.main()
    import importlib

    from berth.cni.skel import dispatch

    module, cls = PLUGINS[plugin]
    handler = getattr(importlib.import_module(module), cls)()
    return dispatch(handler, os.environ, stdin, sys.stdout)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def bridge() -> None:
    run("berth-bridge")


def host_local() -> None:
    run("berth-host-local")


def loopback() -> None:
    run("berth-loopback")


def portmap() -> None:
    run("berth-portmap")


def net() -> None:
    run("berth-net")
