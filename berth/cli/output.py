"""How the CLI words what it prints: errors as kubectl words them, JSON and YAML.

``describe_error`` maps every failure to the text kubectl would print
(``Error from server (NotFound): pods "x" not found``, the ``* field: cause``
block of an Invalid, the "cannot reach" hint for a dead server); ``dump``
renders objects for ``-o json|yaml``. Nothing here talks to the network.
"""

from __future__ import annotations

import json
from typing import Any

from berth.api.errors import APIError, Invalid, Unauthorized

Obj = dict[str, Any]


def describe_invalid(err: Invalid) -> str:
    """``The Pod "x" is invalid: `` then one ``* field: message`` line per cause."""
    details = err.details or {}
    kind = str(details.get("kind") or "object")
    name = str(details.get("name") or "")
    causes = [c for c in details.get("causes") or [] if isinstance(c, dict)]
    if not causes:
        return err.message
    lines = [f'The {kind} "{name}" is invalid: ']
    for cause in causes:
        field = cause.get("field")
        message = str(cause.get("message", ""))
        lines.append(f"* {field}: {message}" if field else f"* {message}")
    return "\n".join(lines)


def describe_error(exc: BaseException) -> str:
    """The text (without a trailing newline) to print on stderr for ``exc``."""
    from berth.cli.errors import CliError

    if isinstance(exc, Invalid):
        return describe_invalid(exc)
    if isinstance(exc, Unauthorized):
        return "error: You must be logged in to the server (Unauthorized)"
    if isinstance(exc, APIError):
        return f"Error from server ({exc.reason}): {exc.message}"
    if isinstance(exc, CliError):
        return f"error: {exc}"
    client_error = _client_error(exc)
    if client_error is not None:
        return client_error
    return f"error: {exc}"


def _client_error(exc: BaseException) -> str | None:
    """Client errors, without importing the client (and aiohttp) when not needed."""
    import sys

    if "berth.client.errors" not in sys.modules:
        return None
    from berth.client.errors import ConnectionFailed, KubeconfigError

    if isinstance(exc, ConnectionFailed):
        return (f"error: cannot reach the berth API server at {exc.server}: is it running? "
                f"(berth server / berth up) [{exc.reason}]")
    if isinstance(exc, KubeconfigError):
        return f"error: {exc}"
    return None


def dump(value: Any, fmt: str) -> str:
    """``value`` as kubectl's ``-o json`` (4-space indent) or ``-o yaml`` (sorted keys,
    multi-line strings as ``|`` blocks)."""
    if fmt == "json":
        return json.dumps(value, indent=4, ensure_ascii=False)
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, text)
    return str(yaml.dump(value, Dumper=Dumper, sort_keys=True, default_flow_style=False,
                         allow_unicode=True)).rstrip("\n")


def as_list(items: list[Obj]) -> Obj:
    """Several objects as kubectl's ``-o json`` shows them: a ``v1 List``."""
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": items}
