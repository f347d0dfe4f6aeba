"""The joining side of the bootstrap flow: check the cluster's CA, trade a token for credentials.

``discover`` fetches the cluster CA from the join service (``GET
/cluster-info``) over TLS it cannot verify yet, and accepts it only when its
hash matches the ``--ca-cert-hash`` pin (or when the caller explicitly skips
the check); ``request_join`` then talks to the join service over TLS verified
with that CA, sends the bootstrap token, and returns ``Credentials``: the
node's own bearer token and the cluster's network settings (its pod subnet
comes later, from the node IPAM controller, on the Node itself).
``join_url`` derives the join service address from the API URL (API port
+ 1).  Every failure is a ``JoinError`` saying what to check.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from berth.cluster.errors import ClusterError
from berth.server.bootstrap import ca_cert_hash, parse_token
from berth.server.errors import BootstrapError


class JoinError(ClusterError):
    """Joining failed: unreachable server, wrong CA pin, bad token."""


@dataclass(frozen=True)
class Credentials:
    server: str
    ca_pem: bytes
    token: str
    network: dict[str, Any]
    kubelet_client_token: str


def join_url(server: str, join_port: int = 0) -> str:
    parts = urlsplit(server if "://" in server else f"https://{server}")
    if parts.scheme != "https" or not parts.hostname:
        raise JoinError(f"SERVER: {server!r} is not https://HOST:PORT")
    port = join_port or (parts.port or 6443) + 1
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"https://{host}:{port}"


async def discover(url: str, ca_hash: str | None) -> bytes:
    """The cluster CA, checked against ``ca_hash`` (None: the caller chose not to check)."""
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    try:
        async with aiohttp.ClientSession() as session, session.get(
                f"{url}/cluster-info", ssl=insecure,
                timeout=aiohttp.ClientTimeout(total=10)) as resp:
            doc = await resp.json()
        ca_pem = base64.b64decode(doc["ca"])
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
        raise JoinError(f"cannot reach the join service at {url}: {exc}") from exc
    if ca_hash is not None and ca_cert_hash(ca_pem) != ca_hash.strip().lower():
        raise JoinError(f"--ca-cert-hash: the server at {url} presents a CA with hash "
                        f"{ca_cert_hash(ca_pem)}, not the pinned one; refusing to send the "
                        "token")
    return ca_pem


def check_token_shape(token: str) -> None:
    """JoinError (naming --token) unless ``token`` has a bootstrap token's shape."""
    try:
        parse_token(token)
    except BootstrapError as exc:
        raise JoinError(str(exc)) from None


async def request_join(url: str, token: str, node: str, ca_pem: bytes, server: str
                       ) -> Credentials:
    check_token_shape(token)
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    try:
        async with aiohttp.ClientSession() as session, session.post(
                f"{url}/join", json={"node": node}, ssl=ctx,
                headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=10)) as resp:
            doc = await resp.json()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise JoinError(f"join request to {url} failed: {exc}") from exc
    if status == 401:
        raise JoinError("--token: the server refused the bootstrap token (wrong or expired)")
    if status != 200:
        raise JoinError(f"the join service said: {doc.get('message') or status}")
    return Credentials(server=server, ca_pem=ca_pem, token=str(doc["token"]),
                       network=dict(doc["network"]),
                       kubelet_client_token=str(doc.get("kubeletClientToken") or ""))
