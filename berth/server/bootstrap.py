"""Bootstrap tokens and the join service: how a new node earns its credentials.

A bootstrap token has kubeadm's shape, ``<id>.<secret>`` (6 and 16 characters
of ``[a-z0-9]``).  ``berth init``/``up`` create one with ``new_bootstrap_token``
and keep only its id, the SHA-256 of the secret and an expiry, in a 0600 file
of the server's data directory (``save_tokens``/``load_tokens``); the secret
itself is shown once, to the operator.

The join service (``join_app``) runs in the cluster's server process beside the
API (``berth.daemon.server``, ``berth server --join-port``), over TLS with the
API's certificate:

- ``GET /cluster-info``: the cluster CA (public), so a joining node can check it
  against the ``--ca-cert-hash`` pin it was given before sending any secret;
- ``POST /join`` with ``Authorization: Bearer <token>`` and ``{"node": NAME}``:
  a valid, unexpired token (compared in constant time) gets a fresh node
  identity ``system:node:NAME`` (group ``system:nodes``) added to the API
  server's token file and authenticator, the cluster's network settings and
  the token the API server presents to the node's logs/exec endpoint.  A bad
  token gets 401 and nothing else.  The node's pod subnet is not handed out
  here: the node IPAM controller (``berth.controllers.nodeipam``) is the one
  subnet assigner, and gives the Node its ``spec.podCIDR`` once it registers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from berth.server.errors import BootstrapError

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
TOKEN_FILE = "bootstrap-tokens.json"
NETWORK_FILE = "network.json"
DEFAULT_TTL = 24 * 3600.0
NODE_GROUPS = ("system:nodes", "system:authenticated")


@dataclass(frozen=True)
class StoredToken:
    id: str
    secret_sha256: str
    expires: float


def new_bootstrap_token() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return ("".join(secrets.choice(alphabet) for _ in range(6)) + "." +
            "".join(secrets.choice(alphabet) for _ in range(16)))


def parse_token(token: str) -> tuple[str, str]:
    match = TOKEN_RE.match(token.strip())
    if match is None:
        raise BootstrapError("--token: not a bootstrap token (expected <6 chars>.<16 chars> "
                           "of a-z and 0-9)")
    return match.group(1), match.group(2)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def load_tokens(data_dir: Path) -> list[StoredToken]:
    try:
        doc = json.loads((data_dir / TOKEN_FILE).read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise BootstrapError(f"{data_dir / TOKEN_FILE}: {exc}") from exc
    return [StoredToken(**t) for t in doc]


def save_tokens(data_dir: Path, tokens: list[StoredToken]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{TOKEN_FILE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump([asdict(t) for t in tokens], f)
    os.replace(tmp, data_dir / TOKEN_FILE)


def add_token(data_dir: Path, token: str, ttl: float = DEFAULT_TTL,
              now: float | None = None) -> None:
    token_id, secret = parse_token(token)
    expires = (now if now is not None else time.time()) + ttl
    kept = [t for t in load_tokens(data_dir) if t.id != token_id]
    save_tokens(data_dir, [*kept, StoredToken(token_id, _digest(secret), expires)])


def check_token(tokens: list[StoredToken], presented: str, now: float) -> bool:
    """True when ``presented`` is a stored, unexpired token (constant-time comparison)."""
    match = TOKEN_RE.match(presented.strip())
    if match is None:
        return False
    digest = _digest(match.group(2))
    ok = False
    for t in tokens:
        same = hmac.compare_digest(t.secret_sha256, digest) and t.id == match.group(1)
        ok = ok or (same and t.expires > now)
    return ok


def ca_cert_hash(ca_pem: bytes) -> str:
    """``sha256:<hex>`` of the CA certificate (DER), the pin a joining node checks."""
    der = x509.load_pem_x509_certificate(ca_pem).public_bytes(Encoding.DER)
    return "sha256:" + hashlib.sha256(der).hexdigest()


IssueIdentity = Callable[[str], str]  # node name -> bearer token


def join_app(data_dir: Path, ca_pem: bytes, network: dict[str, Any],
             issue_identity: IssueIdentity, kubelet_client_token: str,
             clock: Callable[[], float] = time.time) -> web.Application:
    """The join service's aiohttp application (see the module docstring)."""
    async def cluster_info(request: web.Request) -> web.Response:
        return web.json_response({"ca": base64.b64encode(ca_pem).decode()})

    async def join(request: web.Request) -> web.Response:
        scheme, _, presented = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not check_token(load_tokens(data_dir), presented,
                                                          clock()):
            return web.json_response({"message": "invalid or expired bootstrap token"},
                                     status=401)
        try:
            body = await request.json()
            node = str(body["node"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"message": "body must be {\"node\": NAME}"}, status=400)
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", node):
            return web.json_response({"message": f"node: {node!r} is not a valid name"},
                                     status=400)
        return web.json_response({"token": issue_identity(node), "network": network,
                                  "kubeletClientToken": kubelet_client_token})

    app = web.Application()
    app.router.add_get("/cluster-info", cluster_info)
    app.router.add_post("/join", join)
    return app
