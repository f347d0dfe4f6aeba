"""The admin kubeconfig: how kubectl, `berth` and the official clients find the server.

`render_kubeconfig` is pure (a dict in kubeconfig's v1 shape, cluster with the CA
inline, a token user, context "berth"); `write_kubeconfig` writes it with mode 0600.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "berth"


def render_kubeconfig(server: str, ca_pem: bytes, token: str, user: str = "admin") -> dict[str, Any]:
    """A kubeconfig dict for one cluster, one user, one context named 'berth'."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": CONTEXT,
            "cluster": {
                "server": server,
                "certificate-authority-data": base64.b64encode(ca_pem).decode(),
            },
        }],
        "users": [{"name": f"{CONTEXT}-{user}", "user": {"token": token}}],
        "contexts": [{
            "name": CONTEXT,
            "context": {"cluster": CONTEXT, "user": f"{CONTEXT}-{user}", "namespace": "default"},
        }],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, config: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
