"""The nftables adapter: apply an nft script atomically, read a table back as JSON.

Callers render whole scripts with pure functions and hand them here; ``nft -f -``
applies a script as one transaction, so a half-applied ruleset never exists.
The command runs in the calling thread's network namespace (a CNI plugin runs
inside its node's namespace).  Failures become ``NftError`` with nft's own
message.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from berth.host.errors import NftError

NFT = "nft"


def apply(script: str) -> None:
    """Apply ``script`` (nft syntax) as one transaction."""
    try:
        proc = subprocess.run([NFT, "-f", "-"], input=script.encode(), capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NftError(f"cannot run {NFT}: {exc}") from exc
    if proc.returncode != 0:
        raise NftError(f"nft refused the ruleset: {proc.stderr.decode(errors='replace').strip()}")


def list_table(family: str, table: str) -> list[dict[str, Any]] | None:
    """The objects (sets, chains, rules) of a table, or None if it does not exist."""
    try:
        proc = subprocess.run([NFT, "-j", "list", "table", family, table], capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NftError(f"cannot run {NFT}: {exc}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        if "No such file or directory" in err:
            return None
        raise NftError(f"nft list table {family} {table}: {err.strip()}")
    data = json.loads(proc.stdout)
    return [item for item in data.get("nftables", []) if "metainfo" not in item]
