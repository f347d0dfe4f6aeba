"""Building blocks shared by the per-kind validators: error constructors and metadata.

The constructors mirror Kubernetes' ``field.Required``/``Invalid``/... so the
validators read like the Go code they follow, and produce FieldErrors whose
``message()`` is Kubernetes' text. ``Errs`` is just a list of them; paths are
plain strings built with ``child``/``index``/``key``. The object-metadata rules
(``validate_object_meta``, ``validate_object_meta_update``) and label,
annotation and selector syntax live here because every kind uses them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from berth.api.errors import (
    DUPLICATE,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    NOT_SUPPORTED,
    OMIT,
    REQUIRED,
    TOO_LONG,
    TOO_MANY,
    FieldError,
)
from berth.api.validation import names

Errs = list[FieldError]
NameFn = Callable[[str], list[str]]

IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"
ANNOTATIONS_LIMIT = 256 * 1024


# --- paths ---------------------------------------------------------------------

def child(path: str, *names_: str) -> str:
    for name in names_:
        path = f"{path}.{name}" if path else name
    return path


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


# --- constructors (field.Required, field.Invalid, ...) ----------------------------

def required(path: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, path, OMIT, detail)


def invalid(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(INVALID, path, value, detail)


def not_found(path: str, value: Any) -> FieldError:
    return FieldError(NOT_FOUND, path, value)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, path, value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, path, OMIT, detail)


def too_long(path: str, limit: int) -> FieldError:
    return FieldError(TOO_LONG, path, OMIT, f"may not be more than {limit} bytes")


def too_many(path: str, count: int, limit: int) -> FieldError:
    return FieldError(TOO_MANY, path, count, f"must have at most {limit} items")


def not_supported(path: str, value: Any, supported: Iterable[str]) -> FieldError:
    quoted = ", ".join(json.dumps(v) for v in supported)
    return FieldError(NOT_SUPPORTED, path, value, f"supported values: {quoted}" if quoted else "")


def each(path: str, value: Any, messages: list[str]) -> Errs:
    """One Invalid per message from a names.*_errors check."""
    return [invalid(path, value, msg) for msg in messages]


# --- typed access (type errors are reported by the schema check first) ------------

def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def nonnegative(path: str, value: Any) -> Errs:
    number = as_int(value)
    return [invalid(path, number, NEGATIVE)] if number is not None and number < 0 else []


def check_enum(path: str, value: Any, supported: list[str], *, optional: bool = True) -> Errs:
    """Required when empty (unless optional: it is then defaulted), NotSupported if unknown."""
    if value is None or value == "":
        return [] if optional else [required(path)]
    return [] if value in supported else [not_supported(path, value, supported)]


# --- labels, annotations, selectors ----------------------------------------------

def validate_labels(labels: Any, path: str) -> Errs:
    errs: Errs = []
    for k, v in as_dict(labels).items():
        errs += each(path, k, names.qualified_name_errors(k))
        errs += each(path, v, names.label_value_errors(as_str(v)))
    return errs


def validate_annotations(annotations: Any, path: str) -> Errs:
    errs: Errs = []
    total = 0
    for k, v in as_dict(annotations).items():
        errs += each(path, k, names.qualified_name_errors(k.lower()))
        total += len(k) + len(as_str(v))
    if total > ANNOTATIONS_LIMIT:
        errs.append(too_long(path, ANNOTATIONS_LIMIT))
    return errs


def validate_label_selector(selector: Any, path: str) -> Errs:
    """metav1.LabelSelector syntax (ValidateLabelSelector)."""
    errs: Errs = []
    if selector is None:
        return errs
    sel = as_dict(selector)
    for i, expr in enumerate(as_list(sel.get("matchExpressions"))):
        expr_path = index(child(path, "matchExpressions"), i)
        expr = as_dict(expr)
        op, values = expr.get("operator"), as_list(expr.get("values"))
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(child(expr_path, "values"),
                                     "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(child(expr_path, "values"),
                                      "may not be specified when `operator` is 'Exists' or "
                                      "'DoesNotExist'"))
        else:
            errs.append(invalid(child(expr_path, "operator"), op, "not a valid selector operator"))
        errs += each(child(expr_path, "key"), expr.get("key"),
                     names.qualified_name_errors(as_str(expr.get("key"))))
    errs += validate_labels(sel.get("matchLabels"), child(path, "matchLabels"))
    return errs


# --- object metadata ---------------------------------------------------------------

def validate_object_meta(obj: dict[str, Any], namespaced: bool, name_fn: NameFn,
                         path: str = "metadata") -> Errs:
    """ValidateObjectMeta: name (or generateName), namespace, labels, annotations, owners."""
    meta = as_dict(obj.get("metadata"))
    errs: Errs = []
    name, generate = as_str(meta.get("name")), as_str(meta.get("generateName"))
    if generate:
        errs += each(child(path, "generateName"), generate,
                     name_fn(names.mask_trailing_dash(generate)))
    if name:
        errs += each(child(path, "name"), name, name_fn(name))
    elif not generate:
        errs.append(required(child(path, "name"), "name or generateName is required"))
    namespace = as_str(meta.get("namespace"))
    if namespaced:
        if not namespace:
            errs.append(required(child(path, "namespace")))
        else:
            errs += each(child(path, "namespace"), namespace,
                         names.dns1123_label_errors(namespace))
    elif namespace:
        errs.append(forbidden(child(path, "namespace"), "not allowed on this type"))
    errs += nonnegative(child(path, "generation"), meta.get("generation"))
    errs += validate_labels(meta.get("labels"), child(path, "labels"))
    errs += validate_annotations(meta.get("annotations"), child(path, "annotations"))
    errs += _validate_owner_references(meta.get("ownerReferences"), child(path, "ownerReferences"))
    for i, finalizer in enumerate(as_list(meta.get("finalizers"))):
        errs += each(index(child(path, "finalizers"), i), finalizer,
                     names.qualified_name_errors(as_str(finalizer)))
    return errs


def _validate_owner_references(refs: Any, path: str) -> Errs:
    errs: Errs = []
    controllers = []
    for ref in as_list(refs):
        ref = as_dict(ref)
        for field_name, what in (("apiVersion", "version"), ("kind", "kind"), ("name", "name"),
                                 ("uid", "uid")):
            if not as_str(ref.get(field_name)):
                errs.append(invalid(child(path, field_name), ref.get(field_name, ""),
                                    f"{what} must not be empty"))
        if ref.get("controller") is True:
            controllers.append(f"{ref.get('kind')}/{ref.get('name')}")
    if len(controllers) > 1:
        found = ", ".join(controllers)
        errs.append(invalid(path, refs, "Only one reference can have Controller set to true. "
                                        f'Found "true" in references for {found}'))
    return errs


def validate_object_meta_update(new: dict[str, Any], old: dict[str, Any],
                                path: str = "metadata") -> Errs:
    """Name, namespace, uid and creationTimestamp may not change."""
    new_meta, old_meta = as_dict(new.get("metadata")), as_dict(old.get("metadata"))
    errs: Errs = []
    for name in ("name", "namespace"):
        if (new_meta.get(name) or "") != (old_meta.get(name) or ""):
            errs.append(invalid(child(path, name), new_meta.get(name) or "", IMMUTABLE))
    for name in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if new_meta.get(name) is not None and old_meta.get(name) is not None \
                and new_meta[name] != old_meta[name]:
            errs.append(invalid(child(path, name), new_meta[name], IMMUTABLE))
    if old_meta.get("deletionTimestamp"):
        added = set(as_list(new_meta.get("finalizers"))) - set(as_list(old_meta.get("finalizers")))
        if added:
            errs.append(forbidden(child(path, "finalizers"),
                                  "no new finalizers can be added if the object is being deleted, "
                                  f"found new finalizers {json.dumps(sorted(added))}"))
    return errs


def immutable(new: Any, old: Any, path: str) -> Errs:
    return [] if new == old else [invalid(path, new, IMMUTABLE)]
