"""Network configuration as a plugin receives it on stdin.

``parse_netconf`` decodes the bytes (code 6 when they are not a JSON object),
checks the fields every plugin shares (code 7 naming the field, code 1 for an
unsupported ``cniVersion``) and parses ``prevResult`` into a ``Result``.
Plugin-specific fields stay in ``NetConf.raw`` for the plugin to read with the
small ``get_*`` helpers, which also name the offending field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from berth.cni.errors import DecodeFailure, InvalidConfig
from berth.cni.spec import SUPPORTED_VERSIONS, Result, ensure_supported, parse_result

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")


@dataclass(frozen=True)
class NetConf:
    cni_version: str
    name: str
    type: str
    raw: dict[str, Any]
    prev_result: Result | None = None
    runtime_config: dict[str, Any] = field(default_factory=dict)

    @property
    def ipam(self) -> dict[str, Any] | None:
        value = self.raw.get("ipam")
        if value is None or value == {}:
            return None
        if not isinstance(value, dict):
            raise InvalidConfig("ipam: expected an object")
        return value


def decode_json_object(data: bytes, source: str = "stdin") -> dict[str, Any]:
    """Bytes -> a JSON object, or ``DecodeFailure`` (code 6) saying where it broke."""
    try:
        value = json.loads(data)
    except UnicodeDecodeError as exc:
        raise DecodeFailure(f"{source}: not UTF-8 text", str(exc)) from exc
    except json.JSONDecodeError as exc:
        raise DecodeFailure(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}", exc.msg
        ) from exc
    if not isinstance(value, dict):
        raise DecodeFailure(f"{source}: expected a JSON object, got {type(value).__name__}")
    return value


def parse_netconf(
    data: bytes, supported: tuple[str, ...] = SUPPORTED_VERSIONS, *, source: str = "stdin"
) -> NetConf:
    raw = decode_json_object(data, source)
    version = raw.get("cniVersion")
    if not isinstance(version, str) or not version:
        raise InvalidConfig("cniVersion: required string field is missing")
    ensure_supported(version, supported)
    name = get_str(raw, "name", required=True)
    if not NAME_RE.match(name):
        raise InvalidConfig(f"name: invalid network name {name!r}", "must match " + NAME_RE.pattern)
    kind = get_str(raw, "type", required=True)
    prev = raw.get("prevResult")
    prev_result = parse_result(prev, "prevResult") if prev else None
    rc = raw.get("runtimeConfig") or {}
    if not isinstance(rc, dict):
        raise InvalidConfig("runtimeConfig: expected an object")
    return NetConf(version, name, kind, raw, prev_result, rc)


def get_str(obj: dict[str, Any], key: str, *, where: str = "", required: bool = False,
            default: str = "") -> str:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise InvalidConfig(f"{where}{key}: required string field is missing")
        return default
    if not isinstance(value, str):
        raise InvalidConfig(f"{where}{key}: expected a string, got {json.dumps(value)}")
    return value


def get_bool(obj: dict[str, Any], key: str, *, where: str = "", default: bool = False) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidConfig(f"{where}{key}: expected true or false, got {json.dumps(value)}")
    return value


def get_int(obj: dict[str, Any], key: str, *, where: str = "", default: int = 0,
            minimum: int | None = None, maximum: int | None = None) -> int:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidConfig(f"{where}{key}: expected an integer, got {json.dumps(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidConfig(f"{where}{key}: {value} is out of range [{minimum}, {maximum}]")
    return value


def valid_attachments(conf: NetConf) -> set[tuple[str, str]]:
    """GC's ``cni.dev/valid-attachments`` as (containerID, ifname) pairs."""
    items = conf.raw.get("cni.dev/valid-attachments")
    if items is None:
        return set()
    if not isinstance(items, list):
        raise InvalidConfig("cni.dev/valid-attachments: expected a list")
    out = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("containerID"), str):
            raise InvalidConfig(f"cni.dev/valid-attachments[{i}].containerID: required string")
        out.add((item["containerID"], str(item.get("ifname", ""))))
    return out
