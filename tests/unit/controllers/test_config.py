"""The address plan is checked once, with errors naming the flag."""

from __future__ import annotations

import pytest

from berth.controllers import ControllerConfig, ControllerConfigError
from berth.controllers.config import parse_port_range


def test_defaults_are_valid() -> None:
    ControllerConfig().validate()


@pytest.mark.parametrize(("config", "words"), [
    (ControllerConfig(cluster_cidr="10.244.0.0/16", node_cidr_mask=8),
     ["--node-cidr-mask-size", "/8", "larger than the cluster CIDR 10.244.0.0/16"]),
    (ControllerConfig(cluster_cidr="10.0.0.0/8", service_cidr="10.96.0.0/12"),
     ["--service-cidr", "overlaps --pod-network-cidr 10.0.0.0/8"]),
    (ControllerConfig(cluster_cidr="10.244.0.0/33"), ["--pod-network-cidr", "'10.244.0.0/33'"]),
    (ControllerConfig(service_cidr="10.96.0.1/12"), ["--service-cidr", "not a CIDR"]),
    (ControllerConfig(service_cidr="fd00::/108"), ["different IP families"]),
    (ControllerConfig(node_cidr_mask=40), ["--node-cidr-mask-size", "1-32"]),
    (ControllerConfig(node_port_range=(32767, 30000)), ["--service-node-port-range"]),
])
def test_bad_plans_name_the_flag(config: ControllerConfig, words: list[str]) -> None:
    with pytest.raises(ControllerConfigError) as err:
        config.validate()
    for word in words:
        assert word in str(err.value)


def test_port_range_parsing() -> None:
    assert parse_port_range("30000-32767") == (30000, 32767)
    with pytest.raises(ControllerConfigError, match="--service-node-port-range"):
        parse_port_range("30000")
