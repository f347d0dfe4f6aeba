"""Update rules: what may change between the stored object and its replacement.

Pods are mostly immutable: only container images, activeDeadlineSeconds
(downwards), added tolerations and a few more may change, and everything else
is reported as one Forbidden error on ``spec`` listing the changed paths (as
ValidatePodUpdate does, with a simpler diff). Services keep their cluster IP,
EndpointSlices their address type.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from berth.api.validation import names
from berth.api.validation.common import (
    Errs,
    as_dict,
    as_int,
    as_list,
    as_str,
    child,
    forbidden,
    immutable,
    index,
    invalid,
    required,
)

POD_UPDATE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)")
MAX_INT32 = 2**31 - 1


def validate_pod_update(new: dict[str, Any], old: dict[str, Any]) -> Errs:
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    errs: Errs = []
    for list_name in ("containers", "initContainers"):
        new_list, old_list = as_list(new_spec.get(list_name)), as_list(old_spec.get(list_name))
        if len(new_list) != len(old_list):
            errs.append(forbidden(child("spec", list_name),
                                  "pod updates may not add or remove containers"))
            return errs
        for i, ctr in enumerate(new_list):
            if not as_str(as_dict(ctr).get("image")):
                errs.append(required(child(index(child("spec", list_name), i), "image")))
    errs += _active_deadline(new_spec, old_spec)
    errs += _only_added_tolerations(as_list(new_spec.get("tolerations")),
                                    as_list(old_spec.get("tolerations")))
    if new_spec == old_spec:
        return errs
    # The old spec with every mutable field taken from the new one: if the
    # new spec still differs from it, something immutable changed.
    munged = copy.deepcopy(old_spec)
    for list_name in ("containers", "initContainers"):
        for ctr, new_ctr in zip(as_list(munged.get(list_name)),
                                as_list(new_spec.get(list_name)), strict=False):
            if isinstance(ctr, dict):
                ctr["image"] = as_dict(new_ctr).get("image")
    for field_name in ("activeDeadlineSeconds", "tolerations"):
        _copy_field(munged, new_spec, field_name)
    old_grace = as_int(old_spec.get("terminationGracePeriodSeconds"))
    if old_grace is not None and old_grace < 0 \
            and new_spec.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = 1
    if munged != new_spec:
        changes = "\n".join(_diff(old_spec, new_spec, "spec"))
        errs.append(forbidden("spec", f"{POD_UPDATE_MESSAGE}\n{changes}"))
    return errs


def _copy_field(target: dict[str, Any], source: dict[str, Any], name: str) -> None:
    if name in source:
        target[name] = copy.deepcopy(source[name])
    else:
        target.pop(name, None)


def _active_deadline(new_spec: dict[str, Any], old_spec: dict[str, Any]) -> Errs:
    path = "spec.activeDeadlineSeconds"
    new, old = as_int(new_spec.get("activeDeadlineSeconds")), \
        as_int(old_spec.get("activeDeadlineSeconds"))
    if new is not None:
        if not 0 <= new <= MAX_INT32:
            return [invalid(path, new, names.inclusive_range_error(0, MAX_INT32))]
        if old is not None and old < new:
            return [invalid(path, new, "must be less than or equal to previous value")]
    elif old is not None:
        return [invalid(path, None, "must not update from a positive integer to nil value")]
    return []


def _only_added_tolerations(new: list[Any], old: list[Any]) -> Errs:
    errs: Errs = []
    for i, tol in enumerate(old):
        if tol not in new:
            errs.append(forbidden(index("spec.tolerations", i),
                                  "existing toleration can not be modified except its "
                                  "tolerationSeconds"))
    return errs


def _diff(old: Any, new: Any, path: str) -> list[str]:
    """Readable lines for each changed path: ``- path: old`` / ``+ path: new``."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for name in sorted(set(old) | set(new)):
            lines += _diff(old.get(name), new.get(name), child(path, name))
        return lines
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        lines = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            lines += _diff(a, b, index(path, i))
        return lines
    if old == new:
        return []
    return [f"  - {path}: {json.dumps(old)}", f"  + {path}: {json.dumps(new)}"]


def validate_service_update(new: dict[str, Any], old: dict[str, Any]) -> Errs:
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    if "ExternalName" in (new_spec.get("type"), old_spec.get("type")):
        return []
    old_ip, new_ip = as_str(old_spec.get("clusterIP")), as_str(new_spec.get("clusterIP"))
    if old_ip and new_ip and old_ip != new_ip:
        return [invalid("spec.clusterIPs[0]", new_ip, "may not change once set")]
    return []


def validate_endpoint_slice_update(new: dict[str, Any], old: dict[str, Any]) -> Errs:
    return immutable(new.get("addressType"), old.get("addressType"), "addressType")
