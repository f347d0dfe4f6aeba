"""Finding and reading the kubeconfig that says where the API server is.

``kubeconfig_paths`` decides which files to read, in kubectl's order of
precedence adapted to berth: an explicit ``--kubeconfig`` path, else the
``KUBECONFIG`` list (colon-separated, the first file defining a name wins),
else ``$BERTH_HOME/kubeconfig`` with ``BERTH_HOME`` defaulting to ``~/.berth``.
``load_config`` reads them (pure parsing in ``parse_config``) and resolves the
chosen context into a ``ClusterConfig``: server URL, CA bytes, credentials and
default namespace. Every problem is a ``KubeconfigError`` naming the file and
the field.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from berth.client.errors import KubeconfigError


@dataclass(frozen=True)
class ClusterConfig:
    """Everything needed to open a connection to one API server as one user."""

    server: str
    namespace: str = "default"
    ca_pem: bytes | None = None
    insecure: bool = False
    token: str | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    source: str = ""


def berth_home(env: Mapping[str, str]) -> Path:
    """``$BERTH_HOME``, or ``~/.berth``."""
    home = env.get("BERTH_HOME")
    if home:
        return Path(home)
    return Path(env.get("HOME") or Path.home()) / ".berth"


def kubeconfig_paths(explicit: str | None, env: Mapping[str, str]) -> list[Path]:
    """The kubeconfig files to read, highest precedence first."""
    if explicit:
        return [Path(explicit)]
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return [Path(p) for p in listed]
    return [berth_home(env) / "kubeconfig"]


def _named(doc: Mapping[str, Any], section: str, source: str) -> dict[str, dict[str, Any]]:
    entries = doc.get(section) or []
    if not isinstance(entries, list):
        raise KubeconfigError(f"{source}: {section}: expected a list")
    out: dict[str, dict[str, Any]] = {}
    inner = section[:-1]  # clusters -> cluster
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise KubeconfigError(f"{source}: {section}[{i}].name: required")
        body = entry.get(inner) or {}
        if not isinstance(body, dict):
            raise KubeconfigError(f"{source}: {section}[{i}].{inner}: expected a mapping")
        out.setdefault(entry["name"], {**body, "_source": source})
    return out


@dataclass
class _Merged:
    clusters: dict[str, dict[str, Any]]
    users: dict[str, dict[str, Any]]
    contexts: dict[str, dict[str, Any]]
    current: str | None
    sources: list[str]


def parse_config(docs: list[tuple[str, Any]]) -> _Merged:
    """Merge parsed kubeconfig documents ``(source, doc)``; the first definition wins."""
    merged = _Merged({}, {}, {}, None, [])
    for source, doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise KubeconfigError(f"{source}: not a kubeconfig (expected a mapping)")
        merged.sources.append(source)
        for section in ("clusters", "users", "contexts"):
            table = getattr(merged, section)
            for name, body in _named(doc, section, source).items():
                table.setdefault(name, body)
        if merged.current is None and doc.get("current-context"):
            merged.current = str(doc["current-context"])
    return merged


def _data(entry: dict[str, Any], key: str, where: str) -> bytes | None:
    """Inline ``<key>-data`` (base64) or a file named by ``<key>``, relative to its kubeconfig."""
    inline = entry.get(f"{key}-data")
    if inline:
        try:
            return base64.b64decode(str(inline), validate=True)
        except (binascii.Error, ValueError):
            raise KubeconfigError(f"{where}.{key}-data: not valid base64") from None
    path = entry.get(key)
    if not path:
        return None
    full = Path(entry["_source"]).parent / Path(str(path)).expanduser()
    try:
        return full.read_bytes()
    except OSError as exc:
        raise KubeconfigError(f"{where}.{key}: cannot read {full}: {exc.strerror}") from None


def resolve_context(merged: _Merged, context: str | None = None) -> ClusterConfig:
    """The ``ClusterConfig`` of ``context`` (default: current-context)."""
    where = ", ".join(merged.sources) or "kubeconfig"
    name = context or merged.current
    if not name:
        raise KubeconfigError(f"{where}: current-context: not set (use --context)")
    ctx = merged.contexts.get(name)
    if ctx is None:
        raise KubeconfigError(f'{where}: context "{name}" not found')
    cluster = merged.clusters.get(str(ctx.get("cluster", "")))
    if cluster is None:
        raise KubeconfigError(f'{where}: context "{name}": cluster "{ctx.get("cluster")}" not found')
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise KubeconfigError(f'{cluster["_source"]}: clusters["{ctx.get("cluster")}"].server: '
                              "expected an http(s):// URL")
    user = merged.users.get(str(ctx.get("user", "")), {"_source": cluster["_source"]})
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = (_data({"tokenFile": user["tokenFile"], "_source": user["_source"]},
                       "tokenFile", "user") or b"").decode().strip()
    cwhere = f'clusters["{ctx.get("cluster")}"]'
    uwhere = f'users["{ctx.get("user")}"]'
    return ClusterConfig(
        server=server.rstrip("/"),
        namespace=str(ctx.get("namespace") or "default"),
        ca_pem=_data(cluster, "certificate-authority", cwhere),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        token=str(token) if token else None,
        client_cert_pem=_data(user, "client-certificate", uwhere),
        client_key_pem=_data(user, "client-key", uwhere),
        source=where,
    )


def load_config(explicit: str | None = None, env: Mapping[str, str] | None = None,
                context: str | None = None) -> ClusterConfig:
    """Read the kubeconfig files that apply and resolve the context to use."""
    import yaml

    env = os.environ if env is None else env
    paths = kubeconfig_paths(explicit, env)
    docs: list[tuple[str, Any]] = []
    for path in paths:
        try:
            text = path.read_text()
        except FileNotFoundError:
            if explicit:
                raise KubeconfigError(f"{path}: no such kubeconfig file") from None
            continue
        except OSError as exc:
            raise KubeconfigError(f"{path}: cannot read: {exc.strerror}") from None
        try:
            docs.append((str(path), yaml.safe_load(text)))
        except yaml.YAMLError as exc:
            raise KubeconfigError(f"{path}: not valid YAML: {exc}") from None
    if not docs:
        shown = ", ".join(str(p) for p in paths)
        raise KubeconfigError(
            f"no kubeconfig found at {shown}: start a cluster with `berth server` or "
            "`berth up`, or pass --kubeconfig")
    return resolve_context(parse_config(docs), context)
