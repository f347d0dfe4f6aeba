"""Pure planning for the DaemonSet controller: which pods to create and delete, and the status.

`plan_daemonset(ds, nodes, pods)` compares one DaemonSet with the nodes and the
pods it owns (controller ownerReference with its uid):

- a node should run the daemon pod when the template's nodeSelector/required
  node affinity match it and every NoSchedule/NoExecute taint is tolerated
  (with the tolerations Kubernetes adds to every daemon pod, so a not-ready or
  unschedulable node still runs it);
- such a node without a live pod gets one (unless an old one is still
  terminating there); extra pods on a node, pods on nodes that should not run
  one (or are gone) and failed pods are deleted;
- a changed template (`template_hash` differs from the pod's
  ``controller-revision-hash`` label) is rolled out under RollingUpdate by
  deleting old pods, unavailable ones first, then at most `maxUnavailable`
  available ones at a time; the next pass recreates them from the new template;
- the status counts follow Kubernetes' DaemonSetStatus.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from berth.controllers.objects import is_terminating, is_true
from berth.controllers.scheduling import matches_node_selector, tolerates

Obj = dict[str, Any]
HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
DAEMON_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)


@dataclass(frozen=True)
class DaemonSetPlan:
    """Nodes to create a pod on, pod names to delete, and the status to report."""

    create_on: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    status: Obj = field(default_factory=dict)


def template_hash(ds: Obj) -> str:
    template = (ds.get("spec") or {}).get("template") or {}
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def owns(ds: Obj, pod: Obj) -> bool:
    uid = (ds.get("metadata") or {}).get("uid")
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("uid") == uid:
            return True
    return False


def _template_pod(ds: Obj) -> Obj:
    """The template as a pod, with the daemon tolerations added."""
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    spec = template.setdefault("spec", {})
    tolerations = list(spec.get("tolerations") or [])
    for tol in DAEMON_TOLERATIONS:
        if tol not in tolerations:
            tolerations.append(dict(tol))
    spec["tolerations"] = tolerations
    return template


def should_run(template_pod: Obj, node: Obj) -> bool:
    if is_terminating(node) or not matches_node_selector(template_pod, node):
        return False
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(
                template_pod, taint):
            return False
    return True


def new_pod(ds: Obj, node: str) -> Obj:
    """The daemon pod for `node`, from the template (bound by spec.nodeName)."""
    meta = ds.get("metadata") or {}
    template = _template_pod(ds)
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    labels[HASH_LABEL] = template_hash(ds)
    labels[GENERATION_LABEL] = str(meta.get("generation") or 1)
    pod_meta: Obj = {"generateName": f"{meta.get('name')}-", "namespace": meta.get("namespace"),
                     "labels": labels,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                                          "name": meta.get("name"), "uid": meta.get("uid"),
                                          "controller": True, "blockOwnerDeletion": True}]}
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    spec = dict(template.get("spec") or {})
    spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


def _max_unavailable(ds: Obj, desired: int) -> int:
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    value = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1)
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return max(1, math.floor(desired * int(value[:-1]) / 100))
    return max(1, int(value)) if str(value).isdigit() else 1


def _age(pod: Obj) -> tuple[str, str]:
    meta = pod.get("metadata") or {}
    return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")


def plan_daemonset(ds: Obj, nodes: list[Obj], pods: list[Obj]) -> DaemonSetPlan:
    """What to do for one DaemonSet (pure)."""
    template = _template_pod(ds)
    current = template_hash(ds)
    wanted = {str(n["metadata"]["name"]) for n in nodes if should_run(template, n)}
    live: dict[str, list[Obj]] = {}
    terminating: set[str] = set()
    misplaced: set[str] = set()
    delete: list[str] = []
    for pod in sorted((p for p in pods if owns(ds, p)), key=_age):
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        if is_terminating(pod):
            terminating.add(node)
        elif (pod.get("status") or {}).get("phase") == "Failed" or node not in wanted:
            delete.append(pod["metadata"]["name"])
            if node not in wanted:
                misplaced.add(node)
        else:
            live.setdefault(node, []).append(pod)
    for extra in (p for group in live.values() for p in group[1:]):
        delete.append(extra["metadata"]["name"])
    chosen = {node: group[0] for node, group in live.items()}
    create = sorted(n for n in wanted if n not in chosen and n not in terminating)
    available = {n for n, p in chosen.items() if is_true(p, "Ready")}
    unavailable = len(wanted) - len(available)
    old = [p for n, p in sorted(chosen.items())
           if (p["metadata"].get("labels") or {}).get(HASH_LABEL) != current]
    strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "RollingUpdate":
        budget = _max_unavailable(ds, len(wanted)) - unavailable
        old_available = [p for p in old if p["spec"].get("nodeName") in available]
        delete += [p["metadata"]["name"] for p in old if p not in old_available]
        delete += [p["metadata"]["name"] for p in old_available[:max(0, budget)]]
    updated = sum(1 for p in chosen.values()
                  if (p["metadata"].get("labels") or {}).get(HASH_LABEL) == current)
    status = {
        "currentNumberScheduled": len(chosen),
        "numberMisscheduled": len(misplaced),
        "desiredNumberScheduled": len(wanted),
        "numberReady": len(available),
        "numberAvailable": len(available),
        "numberUnavailable": unavailable,
        "updatedNumberScheduled": updated,
        "observedGeneration": (ds.get("metadata") or {}).get("generation") or 1,
    }
    return DaemonSetPlan(tuple(create), tuple(delete), status)
