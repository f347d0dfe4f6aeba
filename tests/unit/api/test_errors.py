"""The APIError tree renders Kubernetes Status objects and reads them back."""

from __future__ import annotations

import pytest

from berth.api import errors
from berth.api.errors import (
    INVALID,
    REQUIRED,
    AlreadyExists,
    Conflict,
    FieldError,
    Gone,
    Invalid,
    NotFound,
    error_from_status,
)


def test_not_found_status_matches_kubernetes() -> None:
    status = errors.not_found("pods", "web").to_status()
    assert status == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "web" not found', "reason": "NotFound",
        "details": {"name": "web", "kind": "pods"}, "code": 404,
    }


def test_grouped_resource_messages_name_the_group() -> None:
    err = errors.already_exists("daemonsets.apps", "agent")
    assert err.message == 'daemonsets.apps "agent" already exists'
    assert err.to_status()["details"] == {"name": "agent", "group": "apps", "kind": "daemonsets"}
    assert err.code == 409


def test_conflict_message() -> None:
    err = errors.conflict("pods", "x")
    assert err.message == ('Operation cannot be fulfilled on pods "x": the object has been '
                           "modified; please apply your changes to the latest version and try "
                           "again")
    assert (err.code, err.reason) == (409, "Conflict")


def test_invalid_lists_causes_and_brackets_several_errors() -> None:
    errs = [FieldError(INVALID, "metadata.name", "pod_name", "bad name"),
            FieldError(REQUIRED, "spec.containers")]
    status = errors.invalid("Pod", "pod_name", errs).to_status()
    assert status["message"] == ('Pod "pod_name" is invalid: [metadata.name: Invalid value: '
                                 '"pod_name": bad name, spec.containers: Required value]')
    assert status["code"] == 422
    assert status["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": 'Invalid value: "pod_name": bad name',
         "field": "metadata.name"},
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers"},
    ]


def test_invalid_with_one_error_has_no_brackets_and_group_qualifies_kind() -> None:
    err = errors.invalid("DaemonSet", "ds", [FieldError(REQUIRED, "spec.selector")], "apps")
    assert err.message == 'DaemonSet.apps "ds" is invalid: spec.selector: Required value'


@pytest.mark.parametrize(("error", "text"), [
    (FieldError(INVALID, "spec.x", 5, "too big"), "spec.x: Invalid value: 5: too big"),
    (FieldError(INVALID, "spec.x", True), "spec.x: Invalid value: true"),
    (FieldError(INVALID, "spec.x", None, "d"), "spec.x: Invalid value: null: d"),
    (FieldError(REQUIRED, "spec.x", "ignored", "why"), "spec.x: Required value: why"),
    (FieldError(errors.NOT_SUPPORTED, "spec.p", "X", 'supported values: "A"'),
     'spec.p: Unsupported value: "X": supported values: "A"'),
    (FieldError(errors.DUPLICATE, "spec.n", "a"), 'spec.n: Duplicate value: "a"'),
    (FieldError(errors.NOT_FOUND, "spec.v", "x"), 'spec.v: Not found: "x"'),
    (FieldError(errors.FORBIDDEN, "spec", detail="no"), "spec: Forbidden: no"),
    (FieldError(errors.UNKNOWN, "spec.container"), 'unknown field "spec.container"'),
])
def test_field_error_messages(error: FieldError, text: str) -> None:
    assert error.message() == text


@pytest.mark.parametrize("err", [
    errors.not_found("pods", "a"), errors.conflict("pods", "a"),
    errors.already_exists("pods", "a"), errors.expired("too old resource version: 1 (5)"),
    errors.Unauthorized("Unauthorized"), errors.Forbidden("no"),
    errors.MethodNotAllowed("no"), errors.UnsupportedMediaType("no"),
    errors.RequestEntityTooLarge("big"), errors.NotAcceptable("no"),
    errors.internal_error("boom"), errors.ServiceUnavailable("later"), errors.Timeout("slow"),
    errors.BadRequest("bad"),
])
def test_status_round_trip_keeps_type_code_and_reason(err: errors.APIError) -> None:
    back = error_from_status(err.to_status())
    assert type(back) is type(err)
    assert (back.code, back.reason, back.message) == (err.code, err.reason, err.message)


def test_expired_is_gone_with_reason_expired() -> None:
    err = errors.expired("too old")
    assert isinstance(err, Gone) and err.reason == "Expired" and err.code == 410


def test_invalid_round_trip_keeps_field_errors() -> None:
    original = errors.invalid("Pod", "p", [FieldError(REQUIRED, "spec.containers")])
    back = error_from_status(original.to_status())
    assert isinstance(back, Invalid)
    assert [(e.type, e.field) for e in back.errors] == [(REQUIRED, "spec.containers")]


def test_unknown_status_falls_back_by_code() -> None:
    back = error_from_status({"kind": "Status", "code": 404, "message": "gone away"})
    assert isinstance(back, NotFound) and back.message == "gone away"
    assert isinstance(error_from_status({"code": 409, "reason": "AlreadyExists"}), AlreadyExists)
    assert isinstance(error_from_status({"code": 409, "reason": "Conflict"}), Conflict)


def test_decode_error_names_source_line_and_column() -> None:
    err = errors.DecodeError("pod.yaml", 3, 7, "mapping values are not allowed here")
    assert err.message == "pod.yaml:3:7: mapping values are not allowed here"
    assert err.code == 400
