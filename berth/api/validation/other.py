"""Validation of the smaller kinds: Namespace, Node, ConfigMap, Secret, Event, Lease,
Binding, and of DaemonSet (whose template is checked with the pod-spec rules).

Each ``validate_<kind>(obj)`` returns the errors of everything but metadata;
the ``*_update`` functions add the rules that compare with the stored object.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Any

from berth.api.validation import names
from berth.api.validation.common import (
    IMMUTABLE,
    Errs,
    as_dict,
    as_int,
    as_list,
    as_str,
    child,
    each,
    forbidden,
    immutable,
    index,
    invalid,
    key,
    nonnegative,
    not_supported,
    required,
    too_long,
    validate_annotations,
    validate_label_selector,
    validate_labels,
)
from berth.api.validation.pod import validate_pod_spec

MAX_DATA_BYTES = 1024 * 1024
TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"]


# --- Namespace, Node ----------------------------------------------------------------

def validate_namespace(namespace: dict[str, Any]) -> Errs:
    errs: Errs = []
    for i, finalizer in enumerate(as_list(as_dict(namespace.get("spec")).get("finalizers"))):
        text = as_str(finalizer)
        problems = names.qualified_name_errors(text)
        if not problems and "/" not in text and text != "kubernetes":
            problems = ["name is neither a standard finalizer name nor is it fully qualified"]
        errs += each(index("spec.finalizers", i), text, problems)
    return errs


def validate_node(node: dict[str, Any]) -> Errs:
    spec = as_dict(node.get("spec"))
    errs: Errs = []
    cidrs = as_list(spec.get("podCIDRs"))
    for i, cidr in enumerate(cidrs):
        try:
            ipaddress.ip_network(as_str(cidr), strict=True)
        except ValueError:
            errs.append(invalid(index("spec.podCIDRs", i), cidr, "must be a valid CIDR"))
    pod_cidr = as_str(spec.get("podCIDR"))
    if pod_cidr and cidrs and cidrs[0] != pod_cidr:
        errs.append(invalid("spec.podCIDRs", cidrs, "first value must match `podCIDR`"))
    if len(cidrs) > 2:
        errs.append(invalid("spec.podCIDRs", cidrs, "may specify no more than two CIDRs"))
    for i, taint in enumerate(as_list(spec.get("taints"))):
        taint = as_dict(taint)
        taint_path = index("spec.taints", i)
        taint_key = as_str(taint.get("key"))
        errs += each(child(taint_path, "key"), taint_key, names.qualified_name_errors(taint_key))
        value = as_str(taint.get("value"))
        if value:
            errs += each(child(taint_path, "value"), value, names.label_value_errors(value))
        effect = taint.get("effect")
        if not effect:
            errs.append(required(child(taint_path, "effect")))
        elif effect not in TAINT_EFFECTS:
            errs.append(not_supported(child(taint_path, "effect"), effect, TAINT_EFFECTS))
    return errs


def validate_node_update(new: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs: Errs = []
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    if old_spec.get("podCIDRs") and new_spec.get("podCIDRs") != old_spec.get("podCIDRs"):
        errs.append(forbidden("spec.podCIDRs",
                              "node updates may not change podCIDR except from \"\" to valid"))
    if old_spec.get("providerID") and new_spec.get("providerID") != old_spec.get("providerID"):
        errs.append(forbidden("spec.providerID",
                              "node updates may not change providerID except from \"\" to valid"))
    return errs


# --- ConfigMap, Secret -------------------------------------------------------------

def validate_config_map(config_map: dict[str, Any]) -> Errs:
    errs: Errs = []
    total = 0
    data = as_dict(config_map.get("data"))
    for data_key, value in data.items():
        errs += each(key("data", data_key), data_key, names.config_key_errors(data_key))
        total += len(as_str(value))
    for data_key, value in as_dict(config_map.get("binaryData")).items():
        errs += each(key("binaryData", data_key), data_key, names.config_key_errors(data_key))
        if data_key in data:
            errs.append(invalid(key("binaryData", data_key), data_key,
                                "duplicate of key present in data"))
        total += len(as_str(value)) * 3 // 4
    if total > MAX_DATA_BYTES:
        errs.append(too_long("", MAX_DATA_BYTES))
    return errs


def validate_secret(secret: dict[str, Any]) -> Errs:
    errs: Errs = []
    total = 0
    data = as_dict(secret.get("data"))
    for data_key, value in data.items():
        errs += each(key("data", data_key), data_key, names.config_key_errors(data_key))
        try:
            total += len(base64.b64decode(as_str(value), validate=True))
        except (binascii.Error, ValueError) as exc:
            errs.append(invalid(key("data", data_key), "<secret contents redacted>",
                                f"illegal base64 data: {exc}"))
    for data_key in as_dict(secret.get("stringData")):
        errs += each(key("stringData", data_key), data_key, names.config_key_errors(data_key))
    if total > MAX_DATA_BYTES:
        errs.append(too_long("data", MAX_DATA_BYTES))
    kind = secret.get("type")
    present = set(data) | set(as_dict(secret.get("stringData")))
    needed = {"kubernetes.io/tls": ("tls.crt", "tls.key"),
              "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
              "kubernetes.io/dockercfg": (".dockercfg",),
              "kubernetes.io/ssh-auth": ("ssh-privatekey",)}.get(as_str(kind), ())
    for data_key in needed:
        if data_key not in present:
            errs.append(required(key("data", data_key)))
    return errs


def validate_immutable_data(new: dict[str, Any], old: dict[str, Any]) -> Errs:
    """ConfigMaps and Secrets marked immutable keep their data (and the flag)."""
    if old.get("immutable") is not True:
        return []
    errs: Errs = []
    if new.get("immutable") is not True:
        errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
    for field_name in ("data", "binaryData"):
        if new.get(field_name) != old.get(field_name):
            errs.append(forbidden(field_name, "field is immutable when `immutable` is set"))
    return errs


# --- Event, Lease, Binding ------------------------------------------------------------

def validate_event(event: dict[str, Any]) -> Errs:
    errs: Errs = []
    involved = as_dict(event.get("involvedObject"))
    namespace = as_str(as_dict(event.get("metadata")).get("namespace"))
    involved_ns = as_str(involved.get("namespace"))
    if involved_ns and involved_ns != namespace:
        errs.append(invalid("involvedObject.namespace", involved_ns,
                            "does not match event.namespace"))
    kind = event.get("type")
    if kind and kind not in ("Normal", "Warning"):
        errs.append(not_supported("type", kind, ["Normal", "Warning"]))
    errs += nonnegative("count", event.get("count"))
    return errs


def validate_lease(lease: dict[str, Any]) -> Errs:
    spec = as_dict(lease.get("spec"))
    errs: Errs = []
    duration = as_int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        errs.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    errs += nonnegative("spec.leaseTransitions", spec.get("leaseTransitions"))
    return errs


def validate_binding(binding: dict[str, Any]) -> Errs:
    target = as_dict(binding.get("target"))
    errs: Errs = []
    kind = as_str(target.get("kind"))
    if kind and kind != "Node":
        errs.append(not_supported("target.kind", kind, ["Node", "<empty>"]))
    if not as_str(target.get("name")):
        errs.append(required("target.name"))
    return errs


# --- DaemonSet ---------------------------------------------------------------------

def validate_daemon_set(daemon_set: dict[str, Any]) -> Errs:
    from berth.api.selectors import LabelSelector  # selectors imports validation.names

    spec = as_dict(daemon_set.get("spec"))
    template = as_dict(spec.get("template"))
    template_meta = as_dict(template.get("metadata"))
    errs: Errs = []
    selector = spec.get("selector")
    if selector is None:
        errs.append(required("spec.selector"))
    else:
        selector_errs = validate_label_selector(selector, "spec.selector")
        errs += selector_errs
        sel = as_dict(selector)
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            errs.append(invalid("spec.selector", selector,
                                "empty selector is invalid for daemonset"))
        elif not selector_errs and not LabelSelector.from_label_selector(sel).matches(
                as_dict(template_meta.get("labels"))):
            errs.append(invalid("spec.template.metadata.labels", template_meta.get("labels"),
                                "`selector` does not match template `labels`"))
    errs += validate_labels(template_meta.get("labels"), "spec.template.metadata.labels")
    errs += validate_annotations(template_meta.get("annotations"),
                                 "spec.template.metadata.annotations")
    pod_spec = as_dict(template.get("spec"))
    errs += validate_pod_spec(pod_spec, "spec.template.spec")
    if pod_spec.get("ephemeralContainers"):
        errs.append(forbidden("spec.template.spec.ephemeralContainers",
                              "ephemeral containers not allowed in pod template"))
    policy = pod_spec.get("restartPolicy")
    if policy not in (None, "Always"):
        errs.append(not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        errs.append(invalid("spec.template.spec.activeDeadlineSeconds",
                            pod_spec["activeDeadlineSeconds"],
                            "activeDeadlineSeconds in DaemonSet is not Supported"))
    errs += nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    errs += nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    errs += _validate_update_strategy(as_dict(spec.get("updateStrategy")), "spec.updateStrategy")
    return errs


def _int_or_percent(value: Any) -> int | None:
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return int(value[:-1])
    return as_int(value)


def _validate_update_strategy(strategy: dict[str, Any], path: str) -> Errs:
    kind = strategy.get("type")
    if kind in (None, "OnDelete"):
        return []
    if kind != "RollingUpdate":
        return [not_supported(child(path, "type"), kind, ["RollingUpdate", "OnDelete"])]
    rolling = strategy.get("rollingUpdate")
    if rolling is None:
        return [required(child(path, "rollingUpdate"))]
    rolling = as_dict(rolling)
    rolling_path = child(path, "rollingUpdate")
    errs: Errs = []
    values: dict[str, int] = {}
    for field_name in ("maxUnavailable", "maxSurge"):
        raw = rolling.get(field_name, 0)
        field_path = child(rolling_path, field_name)
        number = _int_or_percent(raw)
        if number is None:
            errs.append(invalid(field_path, raw, names.regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'",
                "[0-9]+%", "1%", "93%")))
            continue
        if number < 0:
            errs.append(invalid(field_path, raw, "must be greater than or equal to 0"))
        if isinstance(raw, str) and number > 100:
            errs.append(invalid(field_path, raw, "must not be greater than 100%"))
        values[field_name] = number
    if values.get("maxUnavailable") and values.get("maxSurge"):
        errs.append(invalid(child(rolling_path, "maxSurge"), rolling.get("maxSurge"),
                            "may not be set when maxUnavailable is non-zero"))
    elif len(values) == 2 and not values["maxUnavailable"] and not values["maxSurge"]:
        errs.append(required(child(rolling_path, "maxUnavailable"),
                             "cannot be 0 when maxSurge is 0"))
    return errs


def validate_daemon_set_update(new: dict[str, Any], old: dict[str, Any]) -> Errs:
    new_sel = as_dict(new.get("spec")).get("selector")
    old_sel = as_dict(old.get("spec")).get("selector")
    return immutable(new_sel, old_sel, "spec.selector")


def validate_secret_update(new: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_immutable_data(new, old)
    if (new.get("type") or "Opaque") != (old.get("type") or "Opaque"):
        errs.append(invalid("type", new.get("type"), IMMUTABLE))
    return errs
