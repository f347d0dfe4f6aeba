"""The plugin side of the CNI protocol: read CNI_* variables and stdin, dispatch, reply.

``dispatch(plugin, env, stdin, stdout)`` is the whole protocol in one call, with
the environment injected so tests run plugins in-process; ``run_main(plugin)``
binds it to the real process for console scripts.  It validates the
environment (code 4 naming the variable), decodes the configuration (code 6/7,
code 1 for an unsupported ``cniVersion``), calls the plugin's ``add``/``delete``
/``check``/``status``/``gc`` and prints the ADD result in the configuration's
``cniVersion``.  Every failure becomes the spec's error JSON on stdout with
exit status 1; no traceback ever reaches the runtime.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol

from berth.cni.conf import NetConf, parse_netconf
from berth.cni.errors import CNIError, IncompatibleVersion, InternalError, InvalidEnvironment
from berth.cni.spec import CURRENT_VERSION, SUPPORTED_VERSIONS, Result, at_least

COMMANDS = ("ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC")
MAX_IFNAME = 15
CONTAINER_ID_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")

_REQUIRED: dict[str, tuple[str, ...]] = {
    "ADD": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"),
    "CHECK": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"),
    "DEL": ("CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"),
    "STATUS": ("CNI_PATH",),
    "GC": ("CNI_PATH",),
    "VERSION": (),
}


@dataclass(frozen=True)
class CmdArgs:
    """What the runtime told the plugin through the environment, plus raw stdin."""

    command: str
    container_id: str
    netns: str
    ifname: str
    args: tuple[tuple[str, str], ...]
    path: tuple[str, ...]
    stdin: bytes
    env: Mapping[str, str]

    def arg(self, key: str) -> str | None:
        """The value of ``key`` in CNI_ARGS (last one wins), or None."""
        found = None
        for k, v in self.args:
            if k == key:
                found = v
        return found


class Deferrer(Protocol):
    """Runs slow clean-up after the reply (the fast-path server's ``Background``)."""

    def defer(self, key: str, job: Callable[[], None]) -> None: ...

    def wait(self, key: str | None = None) -> None: ...


class Plugin:
    """Base of berth's plugins; override the commands the plugin implements."""

    name = "berth"
    supported_versions: tuple[str, ...] = SUPPORTED_VERSIONS

    def add(self, args: CmdArgs, conf: NetConf) -> Result:
        raise NotImplementedError

    def delete(self, args: CmdArgs, conf: NetConf) -> None:
        raise NotImplementedError

    def check(self, args: CmdArgs, conf: NetConf) -> None:
        raise NotImplementedError

    def status(self, args: CmdArgs, conf: NetConf) -> None:
        """STATUS: succeed when ADD can be serviced (default: always)."""

    def gc(self, args: CmdArgs, conf: NetConf) -> None:
        """GC: release what is not in ``cni.dev/valid-attachments`` (default: nothing held)."""


def parse_cni_args(text: str) -> tuple[tuple[str, str], ...]:
    """``"K=V;K2=V2"`` -> pairs; a pair without ``=`` is a code 4 error naming CNI_ARGS."""
    pairs: list[tuple[str, str]] = []
    for item in text.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidEnvironment("CNI_ARGS: invalid argument", f"{item!r} is not KEY=VALUE")
        pairs.append((key, value))
    return tuple(pairs)


def validate_ifname(name: str, where: str = "CNI_IFNAME") -> None:
    if not name:
        raise InvalidEnvironment(f"{where}: interface name is empty")
    if len(name) > MAX_IFNAME:
        raise InvalidEnvironment(
            f"{where}: interface name is too long",
            f"{name!r} has {len(name)} characters, at most {MAX_IFNAME} are allowed",
        )
    if name in (".", ".."):
        raise InvalidEnvironment(f"{where}: interface name is . or ..")
    if any(c in "/:" or c.isspace() for c in name):
        raise InvalidEnvironment(f"{where}: interface name contains / or : or whitespace")


def parse_env(env: Mapping[str, str], stdin: bytes) -> CmdArgs:
    command = env.get("CNI_COMMAND", "")
    if not command:
        raise InvalidEnvironment("required env variables [CNI_COMMAND] missing")
    if command not in COMMANDS:
        raise InvalidEnvironment(f"CNI_COMMAND: unknown command {command!r}",
                                 f"expected one of {list(COMMANDS)}")
    missing = [var for var in _REQUIRED[command] if not env.get(var)]
    if missing:
        raise InvalidEnvironment(f"required env variables [{','.join(missing)}] missing")
    container_id = env.get("CNI_CONTAINERID", "")
    if container_id and not CONTAINER_ID_RE.match(container_id):
        raise InvalidEnvironment("CNI_CONTAINERID: invalid characters in container ID",
                                 container_id)
    ifname = env.get("CNI_IFNAME", "")
    if command in ("ADD", "CHECK", "DEL"):
        validate_ifname(ifname)
    path = tuple(p for p in env.get("CNI_PATH", "").split(os.pathsep) if p)
    return CmdArgs(command, container_id, env.get("CNI_NETNS", ""), ifname,
                   parse_cni_args(env.get("CNI_ARGS", "")), path, stdin, env)


def version_info(plugin: Plugin) -> dict[str, Any]:
    return {"cniVersion": CURRENT_VERSION, "supportedVersions": list(plugin.supported_versions)}


def dispatch(plugin: Plugin, env: Mapping[str, str], stdin: bytes, stdout: IO[str]) -> int:
    """Run one CNI command; returns the process exit status (0 or 1)."""
    version = CURRENT_VERSION
    try:
        args = parse_env(env, stdin)
        if args.command == "VERSION":
            _write(stdout, version_info(plugin))
            return 0
        conf = parse_netconf(stdin, plugin.supported_versions)
        version = conf.cni_version
        result = run_command(plugin, args, conf)
        if result is not None:
            _write(stdout, result.to_dict(version))
        return 0
    except CNIError as exc:
        _write(stdout, exc.to_dict(version))
        return 1
    except Exception as exc:  # the runtime must get JSON, never a traceback
        err = InternalError(f"{plugin.name}: unexpected {type(exc).__name__}", str(exc))
        _write(stdout, err.to_dict(version))
        return 1


def run_command(plugin: Plugin, args: CmdArgs, conf: NetConf) -> Result | None:
    """Call the plugin method for ``args.command``, checking the version allows it."""
    if args.command == "ADD":
        return plugin.add(args, conf)
    if args.command == "DEL":
        plugin.delete(args, conf)
    elif args.command == "CHECK":
        _require(conf, "0.4.0", "CHECK")
        plugin.check(args, conf)
    elif args.command == "STATUS":
        _require(conf, "1.1.0", "STATUS")
        plugin.status(args, conf)
    elif args.command == "GC":
        _require(conf, "1.1.0", "GC")
        plugin.gc(args, conf)
    return None


def _require(conf: NetConf, minimum: str, command: str) -> None:
    if not at_least(conf.cni_version, minimum):
        raise IncompatibleVersion(f"config version does not allow {command}",
                                  f"cniVersion {conf.cni_version} < {minimum}")


def _write(stdout: IO[str], obj: dict[str, Any]) -> None:
    stdout.write(json.dumps(obj))
    stdout.write("\n")
    stdout.flush()


def run_main(plugin: Plugin) -> None:
    """Entry point body for a plugin executable."""
    stdin = b"" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()
    sys.exit(dispatch(plugin, os.environ, stdin, sys.stdout))
