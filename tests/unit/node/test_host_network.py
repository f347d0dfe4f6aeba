"""hostNetwork pods: the sandbox config and the pause spec join the node's namespace."""

from __future__ import annotations

from typing import Any

from berth.node.convert import ClusterDNS, plan_sandbox_config
from berth.node.runtime.spec import plan_sandbox_spec

Obj = dict[str, Any]


def _pod(**spec: Any) -> Obj:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def test_host_network_pod_joins_the_node_namespace_with_kubelets_dns_rules() -> None:
    cfg = plan_sandbox_config(_pod(hostNetwork=True), log_dir="/l", cgroup_parent="",
                              dns=ClusterDNS(), node_name="n1",
                              node_netns_path="/run/netns/berth-n1")
    assert cfg.linux.host_network and cfg.linux.host_netns_path == "/run/netns/berth-n1"
    assert cfg.hostname == "n1"
    assert cfg.dns_config is None  # ClusterFirst on the host network: the node's resolv.conf
    with_cluster_dns = plan_sandbox_config(
        _pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"), log_dir="/l",
        cgroup_parent="", dns=ClusterDNS(), node_name="n1")
    assert with_cluster_dns.dns_config is not None
    assert with_cluster_dns.dns_config.servers == ["10.96.0.10"]
    spec = plan_sandbox_spec(cfg, "/rootfs", cfg.linux.host_netns_path, "/berth/n1/podu1/x")
    assert {"type": "network", "path": "/run/netns/berth-n1"} in spec["linux"]["namespaces"]
    # no path at all: the runtime's own namespace, so no network entry
    own = plan_sandbox_spec(cfg, "/rootfs", "", "/berth/n1/podu1/x")
    assert [n for n in own["linux"]["namespaces"] if n["type"] == "network"] == []


def test_ordinary_pod_keeps_its_own_network() -> None:
    cfg = plan_sandbox_config(_pod(), log_dir="/l", cgroup_parent="", dns=ClusterDNS(),
                              node_name="n1", node_netns_path="/run/netns/berth-n1")
    assert not cfg.linux.host_network and cfg.linux.host_netns_path == ""
    assert cfg.hostname == "p" and cfg.dns_config is not None
