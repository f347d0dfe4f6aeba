"""Validation of API objects, with Kubernetes' field paths and wording.

``validate(obj, old=None)`` returns every problem of an object as a list of
FieldError (empty when valid). It first checks the JSON types against the
schema (a wrongly typed value stops there, as it would stop Go's decoder),
then the metadata, then the kind's own rules (``pod``, ``service``, ``other``),
and, when ``old`` is given, the update rules (``update``). Unknown fields are
not reported here: that is strict decoding's job (``berth.api.decode``), which
the server applies according to the request's fieldValidation.
``validate_or_raise`` wraps the result in the Invalid error the API returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from berth.api import schema
from berth.api.errors import UNKNOWN, FieldError, invalid
from berth.api.resources import Obj, Resource, for_object
from berth.api.validation import names, other, pod, service, update
from berth.api.validation.common import (
    Errs,
    as_dict,
    as_str,
    required,
    validate_object_meta,
    validate_object_meta_update,
)
from berth.api.validation.common import invalid as invalid_field

__all__ = ["validate", "validate_or_raise"]

Check = Callable[[dict[str, Any]], Errs]
UpdateCheck = Callable[[dict[str, Any], dict[str, Any]], Errs]

_NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    "Namespace": names.dns1123_label_errors,
    "Service": names.dns1035_label_errors,
}

_CHECKS: dict[str, Check] = {
    "Pod": lambda obj: pod.validate_pod_spec(obj.get("spec"), "spec"),
    "Service": service.validate_service_spec,
    "Endpoints": service.validate_endpoints,
    "EndpointSlice": service.validate_endpoint_slice,
    "Namespace": other.validate_namespace,
    "Node": other.validate_node,
    "ConfigMap": other.validate_config_map,
    "Secret": other.validate_secret,
    "Event": other.validate_event,
    "Lease": other.validate_lease,
    "Binding": other.validate_binding,
    "DaemonSet": other.validate_daemon_set,
}

_UPDATE_CHECKS: dict[str, UpdateCheck] = {
    "Pod": update.validate_pod_update,
    "Service": update.validate_service_update,
    "EndpointSlice": update.validate_endpoint_slice_update,
    "Node": other.validate_node_update,
    "ConfigMap": other.validate_immutable_data,
    "Secret": other.validate_secret_update,
    "DaemonSet": other.validate_daemon_set_update,
}


def _resource_errors(obj: Obj) -> tuple[Resource | None, Errs]:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    errs: Errs = []
    if not as_str(api_version):
        errs.append(required("apiVersion"))
    if not as_str(kind):
        errs.append(required("kind"))
    if errs:
        return None, errs
    resource = for_object(obj)
    if resource is None:
        return None, [invalid_field("kind", kind,
                                    f'no kind "{kind}" is registered for version "{api_version}"')]
    return resource, []


def type_errors(obj: Obj) -> Errs:
    """Values whose JSON type does not match the schema (unknown fields excluded)."""
    from berth.api.decode import unknown_fields

    return [e for e in unknown_fields(obj) if e.type != UNKNOWN]


def validate(obj: Obj, old: Obj | None = None) -> list[FieldError]:
    """All errors of ``obj`` (a create), or of ``obj`` replacing ``old`` (an update)."""
    if not isinstance(obj, dict):
        return [invalid_field("", type(obj).__name__, "must be a JSON object")]
    resource, errs = _resource_errors(obj)
    if resource is None:
        return errs
    errs = type_errors(obj)
    if errs:
        return errs
    name_rule = _NAME_RULES.get(resource.kind, names.dns1123_subdomain_errors)
    errs = validate_object_meta(obj, resource.namespaced, name_rule)
    check = _CHECKS.get(resource.kind)
    if check is not None:
        errs += check(obj)
    if old is not None:
        errs += validate_object_meta_update(obj, as_dict(old))
        update_check = _UPDATE_CHECKS.get(resource.kind)
        if update_check is not None:
            errs += update_check(obj, as_dict(old))
    return errs


def validate_or_raise(obj: Obj, old: Obj | None = None) -> None:
    """Raise the API's Invalid error (422) when ``obj`` has any error."""
    errs = validate(obj, old)
    if errs:
        resource = for_object(obj)
        kind = resource.kind if resource else as_str(obj.get("kind"))
        group = resource.group if resource else ""
        name = as_str(as_dict(obj.get("metadata")).get("name"))
        raise invalid(kind, name, errs, group)


def has_schema(obj: Obj) -> bool:
    """Whether berth knows the object's kind (and so can validate it)."""
    try:
        schema.root_type(as_str(obj.get("apiVersion")), as_str(obj.get("kind")))
    except KeyError:
        return False
    return True
