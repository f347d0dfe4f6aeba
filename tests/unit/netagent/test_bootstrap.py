"""Bootstrap tokens and the join service: only a valid token gets node credentials."""

from __future__ import annotations

import base64
import datetime
import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from berth.cluster.join import JoinError, check_token_shape, join_url
from berth.server import bootstrap
from berth.server.errors import BootstrapError


def self_signed_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth-test-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def test_tokens_have_kubeadms_shape_and_bad_ones_are_named() -> None:
    token = bootstrap.new_bootstrap_token()
    token_id, secret = bootstrap.parse_token(token)
    assert len(token_id) == 6 and len(secret) == 16
    for bad in ("abc", "ABCDEF.0123456789abcdef", "abcdef-0123456789abcdef"):
        with pytest.raises(BootstrapError, match="--token"):
            bootstrap.parse_token(bad)
        with pytest.raises(JoinError, match="--token"):  # what berth join reports
            check_token_shape(bad)


def test_only_the_secret_hash_is_stored_and_expiry_is_honoured(tmp_path: Path) -> None:
    token = bootstrap.new_bootstrap_token()
    bootstrap.add_token(tmp_path, token, ttl=60, now=1000.0)
    stored = (tmp_path / bootstrap.TOKEN_FILE).read_text()
    assert token.split(".")[1] not in stored
    assert os.stat(tmp_path / bootstrap.TOKEN_FILE).st_mode & 0o777 == 0o600
    tokens = bootstrap.load_tokens(tmp_path)
    assert bootstrap.check_token(tokens, token, now=1030.0)
    assert not bootstrap.check_token(tokens, token, now=1061.0)  # expired
    other = token[:7] + ("x" if token[7] != "x" else "y") + token[8:]
    assert not bootstrap.check_token(tokens, other, now=1030.0)
    assert not bootstrap.check_token(tokens, "garbage", now=1030.0)


def test_join_url_is_the_api_port_plus_one() -> None:
    assert join_url("https://198.18.0.11:6443") == "https://198.18.0.11:6444"
    assert join_url("198.18.0.11:7000") == "https://198.18.0.11:7001"
    with pytest.raises(JoinError, match="SERVER"):
        join_url("http://198.18.0.11:6443")


async def test_join_service_gives_credentials_only_for_a_valid_token(tmp_path: Path) -> None:
    token = bootstrap.new_bootstrap_token()
    bootstrap.add_token(tmp_path, token)
    ca = self_signed_pem()
    issued: list[str] = []

    def issue(node: str) -> str:
        issued.append(node)
        return f"secret-for-{node}"

    app = bootstrap.join_app(tmp_path, ca, {"backend": "vxlan"}, issue, "kc-token")
    async with TestClient(TestServer(app)) as client:
        info = await (await client.get("/cluster-info")).json()
        assert bootstrap.ca_cert_hash(base64.b64decode(info["ca"])) == \
            bootstrap.ca_cert_hash(ca)
        refused = await client.post("/join", json={"node": "n1"},
                                    headers={"Authorization": "Bearer abcdef.0123456789abcdef"})
        assert refused.status == 401 and issued == []
        ok = await client.post("/join", json={"node": "n1"},
                               headers={"Authorization": f"Bearer {token}"})
        body = await ok.json()
        assert ok.status == 200 and body["token"] == "secret-for-n1"
        assert body["kubeletClientToken"] == "kc-token" and body["network"]["backend"] == "vxlan"
        assert "podCIDR" not in body  # the node IPAM controller is the one subnet assigner
        badname = await client.post("/join", json={"node": "Bad_Name"},
                                    headers={"Authorization": f"Bearer {token}"})
        assert badname.status == 400
