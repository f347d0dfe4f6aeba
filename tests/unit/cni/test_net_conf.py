"""berth-net's planning: subnet.env parsing (errors name the file and variable) and the
bridge + host-local delegate it builds."""

from __future__ import annotations

import json

import pytest

from berth.cni.conf import parse_netconf
from berth.cni.errors import InvalidConfig
from berth.cni.plugins.net_conf import parse_subnet_env, plan_delegate

GOOD = "BERTH_NETWORK=10.244.0.0/16\nBERTH_SUBNET=10.244.3.1/24\nBERTH_MTU=1450\n" \
       "BERTH_IPMASQ=true\n"


def test_subnet_env_and_delegate() -> None:
    node = parse_subnet_env(GOOD, "/run/berth/n1/subnet.env")
    conf = parse_netconf(json.dumps({"cniVersion": "1.0.0", "name": "podnet",
                                     "type": "berth-net", "bridge": "bthn1",
                                     "runtimeConfig": {"ips": ["10.244.3.9"]},
                                     "delegate": {"hairpinMode": False}}).encode())
    out = plan_delegate(conf, node)
    assert out == {
        "cniVersion": "1.0.0", "name": "podnet", "type": "berth-bridge", "bridge": "bthn1",
        "mtu": 1450, "isGateway": True, "isDefaultGateway": True, "hairpinMode": False,
        "ipMasq": True, "runtimeConfig": {"ips": ["10.244.3.9"]},
        "ipam": {"type": "berth-host-local",
                 "ranges": [[{"subnet": "10.244.3.0/24", "gateway": "10.244.3.1"}]],
                 "routes": [{"dst": "10.244.0.0/16"}]}}


@pytest.mark.parametrize(("text", "message"), [
    ("BERTH_SUBNET=10.244.3.1/24\n", "f.env: BERTH_NETWORK is missing"),
    ("BERTH_NETWORK=10.244.0.0/33\nBERTH_SUBNET=10.244.3.1/24\n",
     "f.env: BERTH_NETWORK: invalid CIDR '10.244.0.0/33'"),
    ("BERTH_NETWORK=10.244.0.0/16\nBERTH_SUBNET=10.245.3.1/24\n",
     "f.env: BERTH_SUBNET: 10.245.3.1/24 is not inside BERTH_NETWORK 10.244.0.0/16"),
    (GOOD.replace("1450", "big"), "f.env: BERTH_MTU: expected an integer"),
    (GOOD.replace("true", "maybe"), "f.env: BERTH_IPMASQ: expected true or false"),
    ("garbage\n", "f.env:1: expected NAME=VALUE"),
])
def test_bad_subnet_env_names_file_and_variable(text: str, message: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        parse_subnet_env(text, "f.env")
    assert info.value.code == 7
    assert str(info.value).startswith(message)
