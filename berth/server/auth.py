"""Bearer-token authentication: who is calling, from a token file in data_dir.

The token file has Kubernetes' static token file format, one identity a line:
`token,user,uid[,"group1,group2"]`. `ensure_tokens` creates it with an admin token
(group `system:masters`) on first start and keeps it on restart. `Authenticator`
holds the tokens in memory, answers `authenticate(Authorization header)` with a
`UserInfo` or None, and can `add` identities at run time so later features (node
identities written by `berth join`, a join-token exchange) extend it without
changing the HTTP layer. Tokens are compared in constant time.
"""

from __future__ import annotations

import csv
import hmac
import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from berth.server.errors import TokenFileError

ADMIN_USER = "admin"
ADMIN_GROUPS = ("system:masters", "system:authenticated")
KUBELET_CLIENT_USER = "system:apiserver-kubelet-client"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated identity."""

    name: str
    uid: str
    groups: tuple[str, ...] = ()


def new_token() -> str:
    """A fresh random bearer token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


class Authenticator:
    """Maps bearer tokens to identities."""

    def __init__(self) -> None:
        self._tokens: dict[str, UserInfo] = {}

    def add(self, token: str, user: UserInfo) -> None:
        self._tokens[token] = user

    def remove_user(self, name: str) -> None:
        self._tokens = {t: u for t, u in self._tokens.items() if u.name != name}

    def token_for(self, name: str) -> str | None:
        """The first token of a user (to write kubeconfigs)."""
        return next((t for t, u in self._tokens.items() if u.name == name), None)

    def authenticate(self, authorization: str | None) -> UserInfo | None:
        """The identity behind an `Authorization: Bearer ...` header, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        user = self._tokens.get(token)
        if user is not None:
            return user
        # The dict lookup is already exact; compare_digest on a miss keeps timing flat.
        hmac.compare_digest(token, token)
        return None


def parse_token_file(text: str, source: str) -> list[tuple[str, UserInfo]]:
    """Parse token file lines; raise TokenFileError naming the file and line."""
    entries: list[tuple[str, UserInfo]] = []
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or row[0].startswith("#"):
            continue
        if len(row) < 3 or not all(row[:3]):
            raise TokenFileError(f"{source}:{lineno}: expected token,user,uid[,\"groups\"]")
        groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
        entries.append((row[0], UserInfo(row[1], row[2], groups)))
    return entries


def render_token_file(entries: list[tuple[str, UserInfo]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for token, user in entries:
        writer.writerow([token, user.name, user.uid, ",".join(user.groups)])
    return out.getvalue()


def ensure_tokens(path: Path) -> Authenticator:
    """Load the token file, creating it with an admin identity first; return the authenticator."""
    entries = parse_token_file(path.read_text(), str(path)) if path.exists() else []
    if not any(u.name == ADMIN_USER for _, u in entries):
        entries.append((new_token(), UserInfo(ADMIN_USER, "admin", ADMIN_GROUPS)))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(render_token_file(entries))
    auth = Authenticator()
    for token, user in entries:
        auth.add(token, user)
    return auth


def add_identity(path: Path, auth: Authenticator, user: UserInfo,
                 token: str | None = None) -> str:
    """Persist a new identity in the token file and activate it now; return its token.

    `berth join` uses this for node identities (e.g. `system:node:<name>` in group
    `system:nodes`); an existing identity with the same user name is replaced.
    """
    token = token or new_token()
    entries = parse_token_file(path.read_text(), str(path)) if path.exists() else []
    entries = [(t, u) for t, u in entries if u.name != user.name] + [(token, user)]
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(render_token_file(entries))
    os.replace(tmp, path)
    auth.remove_user(user.name)
    auth.add(token, user)
    return token


def ensure_secret_file(path: Path) -> str:
    """A token kept in its own 0600 file (e.g. the kubelet-client token), created once."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = new_token()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value
