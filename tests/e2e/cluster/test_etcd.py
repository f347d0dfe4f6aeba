"""``berth up --datastore etcd --etcd-members 3``: the cluster on real etcd, surviving a member.

Pods on two nodes reach each other as on SQLite; SIGKILL of one etcd member
(by its PID in the state file) does not stop the cluster: a new pod is
scheduled, runs and is reachable.  ``berth down`` stops every member it
started (checked by PID) and the fixture checks that nothing is left.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from .conftest import up_cluster, web_pod  # type: ignore[import-not-found]

pytestmark = [pytest.mark.slow, pytest.mark.root, pytest.mark.etcd]


def test_cluster_on_three_etcd_members_survives_losing_one(tmp_path: Path) -> None:
    if shutil.which("etcd") is None:
        pytest.skip("etcd-server is not installed")
    with up_cluster(tmp_path / "home", "--nodes", "2", "--datastore", "etcd",
                    "--etcd-members", "3") as cluster:
        members = [int(p["pid"]) for p in cluster.state()["processes"] if p["role"] == "etcd"]
        assert len(members) == 3
        cluster.apply(web_pod("a", cluster.node(1)), web_pod("b", cluster.node(2)))
        pods = cluster.wait_running({"a", "b"})
        cluster.berth("exec", "a", "--", "ping", "-c", "1", "-W", "3", pods["b"]["ip"])

        os.kill(members[0], signal.SIGKILL)
        cluster.apply(web_pod("c"))
        c = cluster.wait_running({"c"}, timeout=60)["c"]
        cluster.berth("exec", "a", "--", "ping", "-c", "1", "-W", "3", c["ip"])
        cluster.berth("exec", "c", "--", "ping", "-c", "1", "-W", "3", pods["b"]["ip"])
    assert not any(running(pid) for pid in members[1:])


def running(pid: int) -> bool:
    """Alive and not a zombie (stopped members may wait a moment for their reaper)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
