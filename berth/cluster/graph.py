"""``berth graph``: the live cluster network as a Graphviz picture.

``build_model`` gathers, purely, what to draw from three sources: the state
file (fabric namespace, bridge, host link, node namespaces and underlay
addresses), the API (Nodes with subnets and ``berth.dev/`` annotations,
Pods with IPs and nodes) and the routes each node's kernel holds (read by the
caller through ``berth.host.fabric``, optional).  ``render_dot`` turns the
model into DOT: one box per node namespace with its underlay link, CNI
bridge, VXLAN device, routes and pods (each pod on a veth pair to the
bridge), all nodes hanging off the fabric bridge, and dashed VXLAN peer
edges.  ``write_picture`` runs ``dot`` to make an SVG or PNG.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from berth.cluster.errors import ClusterError
from berth.cluster.state import ClusterState
from berth.cluster.topology import FABRIC_BRIDGE, NODE_UNDERLAY
from berth.cni.defaults import BRIDGE as CNI_BRIDGE
from berth.netagent.config import VXLAN_DEVICE
from berth.netagent.plan import peer_from_node

Obj = dict[str, Any]


@dataclass(frozen=True)
class PodBox:
    name: str
    namespace: str
    ip: str


@dataclass
class NodeBox:
    name: str
    netns: str
    ip: str
    subnet: str
    backend: str
    vtep_mac: str = ""
    routes: list[str] = field(default_factory=list)
    pods: list[PodBox] = field(default_factory=list)


@dataclass
class Model:
    fabric_netns: str
    underlay: str
    host_link: str
    server_url: str
    backend: str
    nodes: list[NodeBox]


def build_model(state: ClusterState, nodes: list[Obj], pods: list[Obj],
                routes: dict[str, list[str]]) -> Model:
    published = {p.name: p for p in map(peer_from_node, nodes) if p is not None}
    boxes: dict[str, NodeBox] = {}
    for rec in state.nodes:
        peer = published.get(rec.name)
        boxes[rec.name] = NodeBox(
            name=rec.name, netns=rec.netns, ip=rec.ip,
            subnet=str(peer.subnet) if peer else rec.subnet,
            backend=peer.backend if peer and peer.backend else state.backend,
            vtep_mac=peer.vtep_mac if peer else "", routes=routes.get(rec.name, []))
    for pod in sorted(pods, key=lambda p: (p["metadata"].get("namespace", ""),
                                           p["metadata"]["name"])):
        node = (pod.get("spec") or {}).get("nodeName") or ""
        if node in boxes:
            boxes[node].pods.append(PodBox(pod["metadata"]["name"],
                                           pod["metadata"].get("namespace", "default"),
                                           (pod.get("status") or {}).get("podIP") or "pending"))
    return Model(fabric_netns=state.fabric_netns, underlay=state.underlay,
                 host_link=state.host_link, server_url=state.server_url,
                 backend=state.backend, nodes=list(boxes.values()))


def _id(*parts: str) -> str:
    return '"' + "/".join(parts).replace('"', "") + '"'


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _node_cluster(n: NodeBox) -> list[str]:
    lines = [f"  subgraph {_id('cluster', n.name)} {{",
             f'    label=<<b>{_esc(n.name)}</b>  netns {_esc(n.netns)}>; style="rounded";'
             ' color="#4a6fa5";']
    lines.append(f'    {_id(n.name, "underlay")} [label="{NODE_UNDERLAY}\\n{n.ip}" '
                 'shape=box style=filled fillcolor="#e8eef7"];')
    lines.append(f'    {_id(n.name, "bridge")} [label="{CNI_BRIDGE} (bridge)\\n{n.subnet}" '
                 'shape=box style=filled fillcolor="#fdf2d0"];')
    if n.backend == "vxlan":
        lines.append(f'    {_id(n.name, "vxlan")} [label="{VXLAN_DEVICE}\\nVNI 1 :8472\\n'
                     f'{n.vtep_mac or "?"}" shape=box style=filled fillcolor="#e3f4e1"];')
    lines.append(f'    {_id(n.name, "underlay")} -> {_id(n.name, "bridge")} '
                 '[style=dotted arrowhead=none label="forwarding"];')
    if n.routes:
        rows = "".join(f"<tr><td align='left'>{_esc(r)}</td></tr>" for r in n.routes)
        lines.append(f'    {_id(n.name, "underlay")} -> {_id(n.name, "routes")} [style=invis];')
        lines.append(f"    {_id(n.name, 'routes')} [shape=plaintext label=<<table border='0' "
                     f"cellborder='1' cellspacing='0'><tr><td><b>routes</b></td></tr>{rows}"
                     "</table>>];")
    for pod in n.pods:
        pid = _id(n.name, "pod", pod.namespace, pod.name)
        lines.append(f'    {pid} [label="{pod.name}\\n{pod.ip}" shape=ellipse '
                     'style=filled fillcolor="#ffffff"];')
        lines.append(f'    {_id(n.name, "bridge")} -> {pid} [dir=none label="veth" '
                     'fontsize=8];')
    lines.append("  }")
    return lines


def render_dot(model: Model) -> str:
    lines = ["digraph berth {", '  rankdir=LR; fontname="Helvetica"; ranksep=0.6;',
             '  node [fontname="Helvetica" fontsize=10]; edge [fontname="Helvetica" '
             "fontsize=9];",
             f'  label="berth cluster: backend {model.backend}, underlay {model.underlay}";',
             f"  subgraph {_id('cluster', 'fabric')} {{",
             f'    label="netns {model.fabric_netns}"; style="dashed";',
             f'    {_id("fabric", "bridge")} [label="{FABRIC_BRIDGE} (underlay bridge)\\n'
             f'{model.underlay}" shape=box style=filled fillcolor="#dddddd"];', "  }",
             f'  {_id("root")} [label="root netns\\nAPI server {model.server_url}\\n'
             f'{model.host_link}" shape=box3d];',
             f'  {_id("root")} -> {_id("fabric", "bridge")} [dir=none label="veth"];']
    for n in model.nodes:
        lines += _node_cluster(n)
        lines.append(f'  {_id("fabric", "bridge")} -> {_id(n.name, "underlay")} '
                     f'[dir=none label="veth"];')
        if n.backend == "vxlan":
            lines.append(f'  {_id(n.name, "underlay")} -> {_id(n.name, "vxlan")} '
                         '[dir=none style=dotted];')
    vxlan = [n for n in model.nodes if n.backend == "vxlan"]
    for i, a in enumerate(vxlan):
        for b in vxlan[i + 1:]:
            lines.append(f'  {_id(a.name, "vxlan")} -> {_id(b.name, "vxlan")} [dir=both '
                         'style=dashed color="#2e7d32" constraint=false label="VXLAN peer"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_picture(dot_text: str, output: Path) -> None:
    fmt = output.suffix.lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf", "dot"):
        raise ClusterError(f"-o {output}: use a .svg, .png, .pdf or .dot file name")
    if fmt == "dot":
        output.write_text(dot_text)
        return
    try:
        done = subprocess.run(["dot", f"-T{fmt}", "-o", str(output)], input=dot_text.encode(),
                              capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise ClusterError("Graphviz `dot` is not installed (apt-get install graphviz)") \
            from None
    if done.returncode != 0:
        raise ClusterError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
