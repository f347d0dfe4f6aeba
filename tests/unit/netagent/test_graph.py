"""``berth graph``'s picture: every node, bridge, pod and VXLAN peer is in the DOT text."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from berth.cluster.errors import ClusterError
from berth.cluster.graph import build_model, render_dot, write_picture
from berth.cluster.state import ClusterState, NodeRecord


def state(backend: str) -> ClusterState:
    s = ClusterState(home="/tmp/x", cluster="", backend=backend, pod_cidr="10.244.0.0/16",
                     service_cidr="10.96.0.0/12", underlay="198.18.0.0/24",
                     fabric_netns="berth-fabric", host_link="bth-host",
                     server_url="https://127.0.0.1:6443")
    s.nodes = [NodeRecord(f"node{k}", f"berth-node{k}", f"198.18.0.1{k}", f"10.244.{k}.0/24",
                          "/r", "/r") for k in (1, 2, 3)]
    return s


def api_objects() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [{"metadata": {"name": f"node{k}", "annotations": {
        "berth.dev/backend-type": "vxlan", "berth.dev/vtep-mac": f"aa:00:00:00:00:0{k}",
        "berth.dev/public-ip": f"198.18.0.1{k}"}}, "spec": {"podCIDR": f"10.244.{k}.0/24"}}
        for k in (1, 2, 3)]
    pods = [{"metadata": {"name": f"p{k}-{i}", "namespace": "default"},
             "spec": {"nodeName": f"node{k}"}, "status": {"podIP": f"10.244.{k}.{i + 2}"}}
            for k in (1, 2, 3) for i in range(10)]
    return nodes, pods


def test_three_nodes_with_ten_pods_each_are_all_drawn() -> None:
    nodes, pods = api_objects()
    routes = {"node1": ["10.244.2.0/24 via 10.244.2.0 dev bth.vxlan onlink"]}
    dot = render_dot(build_model(state("vxlan"), nodes, pods, routes))
    for k in (1, 2, 3):
        assert f"netns berth-node{k}" in dot and f"198.18.0.1{k}" in dot
        assert all(f"p{k}-{i}\\n10.244.{k}.{i + 2}" in dot for i in range(10))
    assert dot.count("VXLAN peer") == 3  # every pair of nodes
    assert "aa:00:00:00:00:02" in dot and "10.244.2.0/24 via 10.244.2.0" in dot


def test_host_gw_has_no_vxlan_devices() -> None:
    nodes, pods = api_objects()
    for n in nodes:
        n["metadata"]["annotations"]["berth.dev/backend-type"] = "host-gw"
    dot = render_dot(build_model(state("host-gw"), nodes, pods, {}))
    assert "bth.vxlan" not in dot and "VXLAN peer" not in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_svg_is_written_and_a_bad_suffix_is_refused(tmp_path: Path) -> None:
    nodes, pods = api_objects()
    dot = render_dot(build_model(state("vxlan"), nodes, pods, {}))
    write_picture(dot, tmp_path / "net.svg")
    assert (tmp_path / "net.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ClusterError, match=r"\.svg"):
        write_picture(dot, tmp_path / "net.gif")
