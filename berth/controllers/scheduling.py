"""Pure scheduling decisions: does a pod fit a node, which node is best, and why not.

`pod_requests` sums what a pod asks for as Kubernetes does (the sum over its
containers, at least the largest init container, plus overhead; one `pods` slot).
`node_problems` runs the filters in Kubernetes' order and returns the reasons a
node is ruled out (first failing filter; all missing resources for the fit
filter), worded as kube-scheduler. `choose_node` filters every node and scores
the survivors least-allocated first (fewest pods, then name, break ties), so
pods spread; when no node is left `ScheduleResult.message` is the
`0/3 nodes are available: ...` text. Amounts are integers in thousandths of a
unit (`to_milli`), so cpu, memory and extended resources add up alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from berth.api.errors import QuantityError
from berth.api.quantity import to_milli
from berth.controllers.objects import is_terminal_pod, is_true

Obj = dict[str, Any]
Amounts = dict[str, int]
NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
# kube-scheduler scores containers without requests as if they asked for this much.
SCORE_DEFAULTS = {"cpu": 100_000, "memory": 200 * 1024 * 1024 * 1000}
AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector"


def _amounts(spec: Mapping[str, Any] | None) -> Amounts:
    out: Amounts = {}
    for name, value in (spec or {}).items():
        try:
            out[str(name)] = to_milli(value)
        except (QuantityError, TypeError):
            continue
    return out


def _add(into: Amounts, more: Amounts) -> None:
    for name, value in more.items():
        into[name] = into.get(name, 0) + value


def pod_requests(pod: Obj, *, for_scoring: bool = False) -> Amounts:
    """What `pod` asks of a node; `for_scoring` fills kube-scheduler's non-zero defaults."""
    spec = pod.get("spec") or {}
    total: Amounts = {}
    for container in spec.get("containers") or []:
        asked = _amounts((container.get("resources") or {}).get("requests"))
        if for_scoring:
            for name, default in SCORE_DEFAULTS.items():
                asked.setdefault(name, default)
        _add(total, asked)
    for container in spec.get("initContainers") or []:
        asked = _amounts((container.get("resources") or {}).get("requests"))
        for name, value in asked.items():
            total[name] = max(total.get(name, 0), value)
    _add(total, _amounts(spec.get("overhead")))
    total["pods"] = 1000
    return total


def host_ports(pod: Obj) -> set[tuple[str, int]]:
    ports: set[tuple[str, int]] = set()
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if isinstance(port, dict) and port.get("hostPort"):
                ports.add((str(port.get("protocol") or "TCP"), int(port["hostPort"])))
    return ports


@dataclass
class NodeUsage:
    """What the pods already bound to a node take from it."""

    requested: Amounts = field(default_factory=dict)
    scored: Amounts = field(default_factory=dict)
    pods: int = 0
    ports: set[tuple[str, int]] = field(default_factory=set)

    def add(self, pod: Obj) -> None:
        _add(self.requested, pod_requests(pod))
        _add(self.scored, pod_requests(pod, for_scoring=True))
        self.pods += 1
        self.ports |= host_ports(pod)


def usage_by_node(pods: Iterable[Obj]) -> dict[str, NodeUsage]:
    usage: dict[str, NodeUsage] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and not is_terminal_pod(pod):
            usage.setdefault(str(node), NodeUsage()).add(pod)
    return usage


def tolerates(pod: Obj, taint: Mapping[str, Any]) -> bool:
    for tol in (pod.get("spec") or {}).get("tolerations") or []:
        if not isinstance(tol, dict):
            continue
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol.get("key") == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and (tol.get("value") or "") == (
                taint.get("value") or ""):
            return True
    return False


def _expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op = str(expr.get("key") or ""), expr.get("operator")
    values = [str(v) for v in expr.get("values") or []]
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def matches_node_selector(pod: Obj, node: Obj) -> bool:
    """nodeSelector and required node affinity (matchExpressions, matchFields on name)."""
    spec = pod.get("spec") or {}
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": str(meta.get("name") or "")}
    for term in terms:
        exprs = term.get("matchExpressions") or []
        field_exprs = term.get("matchFields") or []
        if not exprs and not field_exprs:
            continue
        if all(_expression_matches(e, labels) for e in exprs) and all(
                _expression_matches(e, fields) for e in field_exprs):
            return True
    return False


def _taint_text(taint: Mapping[str, Any]) -> str:
    return f"{{{taint.get('key', '')}: {taint.get('value', '')}}}"


def node_problems(pod: Obj, node: Obj, usage: NodeUsage) -> list[str]:
    """Why `pod` cannot go to `node` ([] if it can), in kube-scheduler's words."""
    spec = node.get("spec") or {}
    if spec.get("unschedulable") and not tolerates(pod, UNSCHEDULABLE_TAINT):
        return ["node(s) were unschedulable"]
    taints = [t for t in spec.get("taints") or []
              if isinstance(t, dict) and t.get("effect") in ("NoSchedule", "NoExecute")]
    if not is_true(node, "Ready"):
        taints.insert(0, NOT_READY_TAINT)
    for taint in taints:
        if not tolerates(pod, taint):
            return [f"node(s) had untolerated taint {_taint_text(taint)}"]
    if not matches_node_selector(pod, node):
        return [AFFINITY_REASON]
    if host_ports(pod) & usage.ports:
        return ["node(s) didn't have free ports for the requested pod ports"]
    allocatable = _amounts((node.get("status") or {}).get("allocatable"))
    problems = []
    for name, want in sorted(pod_requests(pod).items()):
        if want == 0:
            continue
        have = allocatable.get(name, 0) - usage.requested.get(name, 0)
        if want > have:
            problems.append("Too many pods" if name == "pods" else f"Insufficient {name}")
    return problems


def _score(pod: Obj, node: Obj, usage: NodeUsage) -> float:
    allocatable = _amounts((node.get("status") or {}).get("allocatable"))
    asked = pod_requests(pod, for_scoring=True)
    shares = []
    for name in ("cpu", "memory"):
        cap = allocatable.get(name, 0)
        if cap > 0:
            shares.append(max(0.0, (cap - usage.scored.get(name, 0) - asked.get(name, 0)) / cap))
    return sum(shares) / len(shares) if shares else 0.0


@dataclass(frozen=True)
class ScheduleResult:
    """The chosen node, or None and the message saying why none fits."""

    node: str | None
    message: str = ""


def unschedulable_message(total: int, reasons: Counter[str]) -> str:
    if total == 0:
        return "no nodes available to schedule pods"
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    return f"0/{total} nodes are available: {', '.join(parts)}."


def choose_node(pod: Obj, nodes: list[Obj], usage: Mapping[str, NodeUsage]) -> ScheduleResult:
    """The best node for `pod`, or why there is none (pure)."""
    reasons: Counter[str] = Counter()
    best: tuple[float, int, str] | None = None
    for node in nodes:
        name = str((node.get("metadata") or {}).get("name") or "")
        used = usage.get(name) or NodeUsage()
        problems = node_problems(pod, node, used)
        if problems:
            reasons.update(problems)
            continue
        rank = (-_score(pod, node, used), used.pods, name)
        if best is None or rank < best:
            best = rank
    if best is None:
        return ScheduleResult(None, unschedulable_message(len(nodes), reasons))
    return ScheduleResult(best[2])
