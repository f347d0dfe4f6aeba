"""Loading network configurations from a conf dir, as a runtime does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from berth.cni.confdir import find_network, load_conf_dir, load_conf_file
from berth.cni.errors import DecodeFailure, InvalidConfig, NetworkNotFound


def write(d: Path, name: str, data: object) -> Path:
    path = d / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_files_are_sorted_and_a_conf_becomes_a_one_plugin_list(tmp_path: Path) -> None:
    write(tmp_path, "20-b.conflist", {"cniVersion": "1.0.0", "name": "b",
                                      "plugins": [{"type": "bridge"}, {"type": "portmap"}]})
    write(tmp_path, "10-a.conf", {"cniVersion": "0.4.0", "name": "a", "type": "bridge",
                                  "bridge": "br0"})
    write(tmp_path, "README.txt", "not a config")
    nets = load_conf_dir(str(tmp_path))
    assert [n.name for n in nets] == ["a", "b"]
    assert nets[0].plugins == ({"type": "bridge", "bridge": "br0"},)
    assert [p["type"] for p in nets[1].plugins] == ["bridge", "portmap"]
    assert find_network(str(tmp_path), "b").cni_version == "1.0.0"
    with pytest.raises(NetworkNotFound, match="no network named 'c'"):
        find_network(str(tmp_path), "c")


def test_first_file_wins_for_a_duplicate_name(tmp_path: Path) -> None:
    write(tmp_path, "10-x.conf", {"cniVersion": "1.0.0", "name": "x", "type": "first"})
    write(tmp_path, "99-x.conf", {"cniVersion": "1.0.0", "name": "x", "type": "second"})
    assert find_network(str(tmp_path), "x").plugins[0]["type"] == "first"


@pytest.mark.parametrize(
    ("data", "error", "needle"),
    [
        ("{", DecodeFailure, "bad.conflist: invalid JSON"),
        ({"cniVersion": "1.0.0", "name": "n"}, InvalidConfig, "neither 'plugins'"),
        ({"cniVersion": "1.0.0", "name": "n", "plugins": []}, InvalidConfig, "plugins"),
        ({"cniVersion": "1.0.0", "name": "n", "plugins": [{}]}, InvalidConfig,
         "plugins[0].type"),
        ({"name": "n", "type": "t"}, InvalidConfig, "cniVersion"),
        ({"cniVersion": "one", "name": "n", "type": "t"}, InvalidConfig, "cniVersion"),
        ({"cniVersion": "1.0.0", "name": "has space", "type": "t"}, InvalidConfig, "name"),
    ],
)
def test_bad_files_name_the_file_and_field(tmp_path: Path, data: object,
                                           error: type[Exception], needle: str) -> None:
    path = write(tmp_path, "bad.conflist", data)
    with pytest.raises(error) as info:
        load_conf_file(str(path))
    assert needle in str(info.value)
    assert "bad.conflist" in str(info.value)
