"""One plugin call, from the runtime's side: find the binary, exec it, read its reply.

Used by the client for every plugin of a chain and by berth's bridge to
delegate to an IPAM plugin (as libcni's ``invoke`` package).  The plugin is
exec'd directly (it is an executable; no interpreter by name), with the
caller's environment plus the CNI_* variables, the configuration on stdin and
a timeout.  A non-zero exit becomes a ``PluginError`` carrying the plugin's
own code, msg and details; output that is not the spec's JSON becomes code
999 with the plugin's stderr, so the caller always gets a typed error.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from berth.cni.errors import CODE_INTERNAL, PluginError, PluginNotFound, PluginTimeout

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Call:
    """The CNI_* variables of one invocation."""

    command: str
    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    args: Sequence[tuple[str, str]] = ()
    path: Sequence[str] = ()

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in base.items() if not k.startswith("CNI_")}
        env["CNI_COMMAND"] = self.command
        for key, value in (
            ("CNI_CONTAINERID", self.container_id),
            ("CNI_NETNS", self.netns),
            ("CNI_IFNAME", self.ifname),
            ("CNI_ARGS", ";".join(f"{k}={v}" for k, v in self.args)),
            ("CNI_PATH", os.pathsep.join(self.path)),
        ):
            if value:
                env[key] = value
        return env


def find_plugin(kind: str, dirs: Sequence[str]) -> str:
    """The first executable named ``kind`` in ``dirs``; ``PluginNotFound`` otherwise."""
    if "/" in kind or kind in ("", ".", ".."):
        raise PluginNotFound(kind, list(dirs))
    for d in dirs:
        path = os.path.join(d, kind)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise PluginNotFound(kind, list(dirs))


def exec_plugin(path: str, call: Call, stdin: bytes, *, timeout: float = DEFAULT_TIMEOUT,
                base_env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Run the plugin; its JSON reply on success (None when it printed nothing)."""
    name = os.path.basename(path)
    try:
        proc = subprocess.run([path], input=stdin, capture_output=True, timeout=timeout,
                              env=call.env(os.environ if base_env is None else base_env),
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise PluginTimeout(name, call.command, timeout) from exc
    except OSError as exc:
        raise PluginError(name, f"cannot execute {path}", exc.strerror or "",
                          code=CODE_INTERNAL) from exc
    stderr = proc.stderr.decode(errors="replace").strip()
    reply = _decode(proc.stdout)
    if proc.returncode != 0:
        if isinstance(reply, dict) and isinstance(reply.get("code"), int):
            raise PluginError(name, str(reply.get("msg", "")), str(reply.get("details", "")),
                              code=reply["code"])
        raise PluginError(name, f"{call.command} failed with exit status {proc.returncode}",
                          stderr or proc.stdout.decode(errors="replace").strip(),
                          code=CODE_INTERNAL)
    if reply is None and proc.stdout.strip():
        raise PluginError(name, f"{call.command} printed invalid JSON",
                          proc.stdout.decode(errors="replace")[:200], code=CODE_INTERNAL)
    return reply


def _decode(out: bytes) -> dict[str, Any] | None:
    if not out.strip():
        return None
    try:
        value = json.loads(out)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
