"""The node's service plane refuses bad settings before touching anything, naming the flag."""

from __future__ import annotations

import pytest

from berth.daemon.services import check_service_plane
from berth.node.errors import NodeConfigError


@pytest.mark.parametrize(("dns_ip", "domain", "port", "flag"), [
    ("10.96.0", "cluster.local", 10053, "--cluster-dns"),
    ("fd00::a", "cluster.local", 10053, "--cluster-dns"),
    ("10.96.0.10", ".", 10053, "--cluster-domain"),
    ("10.96.0.10", "cluster.local", 0, "dns_port"),
])
def test_bad_settings_name_the_flag(dns_ip: str, domain: str, port: int, flag: str) -> None:
    with pytest.raises(NodeConfigError, match=flag):
        check_service_plane(dns_ip, domain, port)


def test_good_settings_pass() -> None:
    check_service_plane("10.96.0.10", "cluster.local.", 10053)
