"""A bad address plan stops the server at start with one line naming the flag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from berth.daemon.server import ServerProcessConfig, start_server_process
from berth.server import ServerConfig
from berth.server.errors import ConfigError


@pytest.mark.parametrize(("plan", "words"), [
    ({"cluster_cidr": "10.96.0.0/16", "service_cidr": "10.96.0.0/12"},
     "--service-cidr: 10.96.0.0/12 overlaps --pod-network-cidr 10.96.0.0/16"),
    ({"cluster_cidr": "10.244.0.0/16", "node_cidr_mask": 12},
     "--node-cidr-mask-size: /12 is larger than the cluster CIDR 10.244.0.0/16"),
    ({"controllers": ("scheduler", "replicaset")}, "controllers: unknown ['replicaset']"),
])
async def test_bad_plan_is_refused_before_anything_starts(tmp_path: Path, plan: dict[str, object],
                                                          words: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)):
        controllers = plan.pop("controllers", ())
        await start_server_process(ServerProcessConfig(
            ServerConfig(data_dir=tmp_path / "s", port=0, **plan),  # type: ignore[arg-type]
            controllers=controllers))  # type: ignore[arg-type]
    assert not (tmp_path / "s").exists()
