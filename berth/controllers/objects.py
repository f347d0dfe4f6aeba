"""Small readers and writers over Kubernetes JSON shared by the controllers.

Conditions (`condition`, `is_ready`, `with_condition`), a pod's phase helpers,
and `record_event`, which writes a core/v1 Event about an object the way
Kubernetes' event recorder does (namespace of the object, "default" for
cluster-scoped ones; reason, message, source component, count 1).
"""

from __future__ import annotations

import datetime
import logging
import secrets
from typing import Any

from berth.api.errors import APIError
from berth.api.meta import format_time
from berth.api.resources import by_key
from berth.client import Client, ClientError

Obj = dict[str, Any]
log = logging.getLogger(__name__)


def condition(obj: Obj, kind: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def is_true(obj: Obj, kind: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def is_terminating(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_terminal_pod(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def condition_changed(obj: Obj, kind: str, status: str, reason: str, message: str) -> bool:
    """True if writing this condition would change what `obj` shows."""
    cond = condition(obj, kind)
    return cond is None or (cond.get("status"), cond.get("reason"), cond.get("message")) != (
        status, reason, message)


def new_condition(obj: Obj, kind: str, status: str, reason: str, message: str,
                  now: str) -> Obj:
    """A condition entry; lastTransitionTime kept when the status did not change."""
    cond = condition(obj, kind)
    moved = cond is None or cond.get("status") != status
    since = now if moved or cond is None else str(cond.get("lastTransitionTime") or now)
    out: Obj = {"type": kind, "status": status, "lastTransitionTime": since}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    if kind in ("Ready", "NetworkUnavailable") and obj.get("kind", "Node") == "Node":
        out["lastHeartbeatTime"] = now
    else:
        out["lastProbeTime"] = None
    return out


def now_text() -> str:
    return format_time(datetime.datetime.now(datetime.UTC))


async def record_event(client: Client, involved: Obj, kind: str, reason: str, message: str, *,
                       component: str, event_type: str = "Normal") -> None:
    """Write one Event about `involved`; failures are logged, never raised."""
    meta = involved.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    now = now_text()
    event: Obj = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{meta.get('name', 'x')}.{secrets.token_hex(8)}",
                     "namespace": namespace},
        "involvedObject": {"kind": kind, "name": meta.get("name", ""),
                           "uid": meta.get("uid", ""),
                           "apiVersion": "apps/v1" if kind == "DaemonSet" else "v1",
                           "resourceVersion": meta.get("resourceVersion", "")},
        "reason": reason, "message": message, "type": event_type,
        "source": {"component": component}, "reportingComponent": component,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    }
    if meta.get("namespace"):
        event["involvedObject"]["namespace"] = meta["namespace"]
    events = by_key("events")
    assert events is not None
    try:
        await client.create(events, event)
    except (APIError, ClientError) as exc:
        log.warning("event %s on %s/%s not recorded: %s", reason, namespace,
                    meta.get("name"), exc)
