"""Which kubeconfig `berth` reads, and what it makes of it."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from berth.client import KubeconfigError, kubeconfig_paths, load_config


def write(path: Path, server: str = "https://127.0.0.1:6443", namespace: str = "default",
          **extra: Any) -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(b"CA PEM").decode()}}],
        "users": [{"name": "u", "user": {"token": "secret"}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u",
                                                  "namespace": namespace}}],
        "current-context": "ctx",
        **extra,
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def test_explicit_flag_beats_environment(tmp_path: Path) -> None:
    env = {"KUBECONFIG": "/a:/b", "BERTH_HOME": "/home/x"}
    assert kubeconfig_paths(str(tmp_path / "k"), env) == [tmp_path / "k"]
    assert kubeconfig_paths(None, env) == [Path("/a"), Path("/b")]
    assert kubeconfig_paths(None, {"BERTH_HOME": "/home/x"}) == [Path("/home/x/kubeconfig")]
    assert kubeconfig_paths(None, {"HOME": "/root"}) == [Path("/root/.berth/kubeconfig")]


def test_loads_server_ca_token_and_namespace(tmp_path: Path) -> None:
    write(tmp_path / "kubeconfig", namespace="team")
    cfg = load_config(None, {"BERTH_HOME": str(tmp_path)})
    assert cfg.server == "https://127.0.0.1:6443"
    assert cfg.ca_pem == b"CA PEM"
    assert cfg.token == "secret"
    assert cfg.namespace == "team"


def test_kubeconfig_list_first_definition_wins(tmp_path: Path) -> None:
    first = write(tmp_path / "one", server="https://127.0.0.1:1111")
    second = write(tmp_path / "two", server="https://127.0.0.1:2222")
    env = {"KUBECONFIG": f"{tmp_path / 'missing'}:{first}:{second}"}
    assert load_config(None, env).server == "https://127.0.0.1:1111"


def test_missing_kubeconfig_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match=r"no kubeconfig found at .*kubeconfig.*berth server"):
        load_config(None, {"BERTH_HOME": str(tmp_path)})
    with pytest.raises(KubeconfigError, match="no such kubeconfig file"):
        load_config(str(tmp_path / "nope"), {})


def test_unknown_context_and_bad_server_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "k")
    with pytest.raises(KubeconfigError, match='context "other" not found'):
        load_config(str(path), {}, context="other")
    write(path, server="127.0.0.1:6443")
    with pytest.raises(KubeconfigError, match=r'clusters\["c"\]\.server'):
        load_config(str(path), {})


def test_ca_file_is_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"FILE CA")
    doc = yaml.safe_load(write(tmp_path / "k").read_text())
    doc["clusters"][0]["cluster"] = {"server": "https://127.0.0.1:6443",
                                     "certificate-authority": "ca.crt"}
    (tmp_path / "k").write_text(yaml.safe_dump(doc))
    assert load_config(str(tmp_path / "k"), {}).ca_pem == b"FILE CA"


def test_not_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("clusters: [unclosed")
    with pytest.raises(KubeconfigError, match="not valid YAML"):
        load_config(str(tmp_path / "k"), {})
