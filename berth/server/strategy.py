"""Per-kind write rules (Kubernetes' "strategies"), as pure functions.

The handlers call these between decoding and storing:

- `prepare_create`: server-owned metadata (uid, creationTimestamp, generation 1,
  generateName), and the status a new object starts with (a Pod is Pending, a
  Service or DaemonSet has an empty status, a Namespace is Active).
- `prepare_update`: what a PUT may change. The main resource keeps the stored
  status, the `status` subresource keeps everything but status; immutable metadata
  is carried over; generation is bumped when the spec changes.
- `plan_delete`: graceful deletion. A Pod bound to a node is only marked
  (deletionTimestamp + deletionGracePeriodSeconds) and disappears when the node
  agent, having stopped its containers, deletes it again with gracePeriodSeconds=0.
  Finalizers hold any object until they are removed. Everything else goes at once.
- `plan_binding`: pods/binding sets spec.nodeName once.

Times and uids are passed in so tests pin them.
"""

from __future__ import annotations

import copy
import datetime
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from berth.api.errors import BadRequest, Conflict
from berth.api.resources import Resource
from berth.server.negotiate import DeleteOptions

Obj = dict[str, Any]
DEFAULT_GRACE = 30
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
IMMUTABLE_META = ("uid", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "generation", "namespace", "name")


def generate_name(prefix: str) -> str:
    """generateName + five random characters from Kubernetes' alphabet."""
    return prefix + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))


def _initial_status(res: Resource, obj: Obj) -> Obj | None:
    if res.key == "pods":
        return {"phase": "Pending", "qosClass": _qos_class(obj.get("spec") or {})}
    if res.key == "namespaces":
        return {"phase": "Active"}
    if res.key in ("services", "daemonsets.apps"):
        return {}
    return None


def _qos_class(spec: Obj) -> str:
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    requests, limits, guaranteed = False, False, True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        requests = requests or bool(req)
        limits = limits or bool(lim)
        for name in ("cpu", "memory"):
            if name not in lim or (name in req and req[name] != lim[name]):
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def prepare_create(res: Resource, obj: Obj, *, now: str, uid: str) -> Obj:
    """Set what the server owns on a new object (in place) and return it."""
    meta = obj.setdefault("metadata", {})
    if meta.get("resourceVersion"):
        raise BadRequest("resourceVersion should not be set on objects to be created")
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = generate_name(str(meta["generateName"]))
    meta["uid"] = uid
    meta["creationTimestamp"] = now
    meta["generation"] = 1
    for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
        meta.pop(key, None)
    status = _initial_status(res, obj)
    if status is not None:
        obj["status"] = status
    return obj


def _body(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def prepare_update(res: Resource, old: Obj, new: Obj, subresource: str | None) -> Obj:
    """The object to store for a PUT of `new` over `old` (main resource or /status)."""
    if subresource == "status":
        result = copy.deepcopy(old)
        if "status" in new:
            result["status"] = new["status"]
        result["metadata"]["resourceVersion"] = (new.get("metadata") or {}).get(
            "resourceVersion") or old["metadata"].get("resourceVersion")
        return result
    result = dict(new)
    meta = dict(result.get("metadata") or {})
    old_meta = old.get("metadata") or {}
    for key in IMMUTABLE_META:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    if not meta.get("resourceVersion"):
        meta["resourceVersion"] = old_meta.get("resourceVersion")
    result["metadata"] = meta
    if "status" in res.subresources:
        if "status" in old:
            result["status"] = old["status"]
        else:
            result.pop("status", None)
    if _body(result) != _body(old):
        meta["generation"] = int(old_meta.get("generation") or 1) + 1
    return result


@dataclass(frozen=True)
class DeletePlan:
    """What a DELETE does: remove now, store a marked object, or nothing new."""

    action: Literal["delete", "mark", "noop"]
    obj: Obj


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_delete(res: Resource, obj: Obj, options: DeleteOptions,
                now: datetime.datetime) -> DeletePlan:
    """Decide how to delete `obj` (pure; the caller applies the plan)."""
    meta = obj.get("metadata") or {}
    if options.precondition_uid and options.precondition_uid != meta.get("uid"):
        raise Conflict(f'Precondition failed: UID in precondition: {options.precondition_uid}, '
                       f'UID in object meta: {meta.get("uid")}')
    if options.precondition_rv and options.precondition_rv != meta.get("resourceVersion"):
        raise Conflict(f'Precondition failed: ResourceVersion in precondition: '
                       f'{options.precondition_rv}, ResourceVersion in object meta: '
                       f'{meta.get("resourceVersion")}')
    grace = _grace_period(res, obj, options)
    finalizers = meta.get("finalizers") or []
    if grace == 0 and not finalizers:
        return DeletePlan("delete", obj)
    marked = copy.deepcopy(obj)
    mmeta = marked["metadata"]
    current = mmeta.get("deletionGracePeriodSeconds")
    if mmeta.get("deletionTimestamp") and current is not None and grace >= int(current):
        return DeletePlan("noop", obj)  # already terminating with a shorter grace
    mmeta["deletionTimestamp"] = _rfc3339(now + datetime.timedelta(seconds=grace))
    mmeta["deletionGracePeriodSeconds"] = grace
    if mmeta["deletionTimestamp"] == meta.get("deletionTimestamp") and current == grace:
        return DeletePlan("noop", obj)
    return DeletePlan("mark", marked)


def _grace_period(res: Resource, obj: Obj, options: DeleteOptions) -> int:
    if res.key != "pods":
        return 0
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if options.grace_period_seconds is not None:
        return options.grace_period_seconds
    declared = spec.get("terminationGracePeriodSeconds")
    return int(declared) if isinstance(declared, int) else DEFAULT_GRACE


def finished_deleting(obj: Obj) -> bool:
    """An object marked for deletion whose finalizers are gone and grace is over."""
    meta = obj.get("metadata") or {}
    return (bool(meta.get("deletionTimestamp")) and not meta.get("finalizers")
            and meta.get("deletionGracePeriodSeconds", 0) == 0)


def plan_binding(pod: Obj, binding: Obj) -> Obj:
    """The pod with spec.nodeName set from a Binding; Conflict if already bound."""
    target = binding.get("target") or {}
    node = target.get("name") if isinstance(target, dict) else None
    if not isinstance(node, str) or not node:
        raise BadRequest("target.name: Required value: a binding needs a node name")
    if target.get("kind") not in (None, "", "Node"):
        raise BadRequest(f'target.kind: Unsupported value: "{target.get("kind")}"')
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        raise Conflict(f'Operation cannot be fulfilled on pods/binding "{meta.get("name")}": '
                       f"pod {meta.get('name')} is being deleted, cannot be assigned to a host")
    current = (pod.get("spec") or {}).get("nodeName")
    if current:
        raise Conflict(f'Operation cannot be fulfilled on pods/binding "{meta.get("name")}": '
                       f'pod {meta.get("name")} is already assigned to node "{current}"')
    bound = copy.deepcopy(pod)
    bound.setdefault("spec", {})["nodeName"] = node
    return bound
