"""Errors of the API layer, shaped like Kubernetes' so they survive the wire.

Everything in berth that can fail "as the API would" raises one of these: the
store (NotFound, AlreadyExists, Conflict, Gone), the server (BadRequest,
Unauthorized, ...), validation (Invalid, carrying a list of FieldError) and the
strict decoder (DecodeError). ``APIError.to_status()`` renders the metav1
``Status`` object the server sends; ``error_from_status()`` turns a received
``Status`` back into the matching exception, so a client sees the same type the
server raised.

The tree::

    Exception
     ├── (FieldError is a value listed inside Invalid, never raised)
     ├── QuantityError (ValueError)      bad resource quantity text
     └── APIError                         code, reason, message, details
          ├── BadRequest          400  BadRequest
          │    ├── DecodeError          manifest/body not parseable (line, column)
          │    └── SelectorError        bad label or field selector
          ├── Unauthorized        401  Unauthorized
          ├── Forbidden           403  Forbidden
          ├── NotFound            404  NotFound
          ├── MethodNotAllowed    405  MethodNotAllowed
          ├── NotAcceptable       406  NotAcceptable
          ├── AlreadyExists       409  AlreadyExists
          ├── Conflict            409  Conflict
          ├── Gone                410  Gone / Expired
          ├── RequestEntityTooLarge 413 RequestEntityTooLarge
          ├── UnsupportedMediaType  415 UnsupportedMediaType
          ├── Invalid             422  Invalid (errors: list[FieldError])
          ├── InternalError       500  InternalError
          ├── ServiceUnavailable  503  ServiceUnavailable
          └── Timeout             504  Timeout
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

# Kubernetes field.ErrorType: the cause "reason" and the human text.
REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_FOUND = "FieldValueNotFound"
DUPLICATE = "FieldValueDuplicate"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
INTERNAL = "InternalError"
TYPE_INVALID = "FieldValueTypeInvalid"
UNKNOWN = "FieldValueUnknown"

_TYPE_TEXT = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    NOT_FOUND: "Not found",
    DUPLICATE: "Duplicate value",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    INTERNAL: "Internal error",
    TYPE_INVALID: "Invalid value",
    UNKNOWN: "Unknown field",
}
# Types whose message never shows the bad value (as field.Error.ErrorBody).
_NO_VALUE = {REQUIRED, FORBIDDEN, TOO_LONG, INTERNAL}


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


#: Use as FieldError.bad_value to print no value ("Not found" without a value, ...).
OMIT: Any = _Omit()


def go_value(value: Any) -> str:
    """Print a bad value the way field.Error does (%q for strings, %v for scalars)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, as Kubernetes' field.Error.

    ``type`` is a field.ErrorType reason (``FieldValueInvalid``, ...); ``field``
    the dotted path with list indexes (``spec.containers[0].image``).
    """

    type: str
    field: str
    bad_value: Any = OMIT
    detail: str = ""

    def body(self) -> str:
        """The message without the field path (a Status cause's message)."""
        if self.type == UNKNOWN:
            return f"unknown field {json.dumps(self.field)}"
        text = _TYPE_TEXT.get(self.type, self.type)
        if self.type not in _NO_VALUE and self.bad_value is not OMIT:
            text = f"{text}: {go_value(self.bad_value)}"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text

    def message(self) -> str:
        """``field: Type: value: detail``, like field.Error.Error()."""
        if self.type == UNKNOWN:
            return self.body()
        return f"{self.field}: {self.body()}"

    def __str__(self) -> str:
        return self.message()


def aggregate(errors: list[FieldError]) -> str:
    """Join messages as utilerrors.Aggregate: one bare, several in brackets."""
    seen: list[str] = []
    for err in errors:
        msg = err.message()
        if msg not in seen:
            seen.append(msg)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


class QuantityError(ValueError):
    """A resource quantity string that does not parse."""


class APIError(Exception):
    """An error the API reports as a ``Status``; subclasses fix code and reason."""

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"

    def __init__(self, message: str, details: dict[str, Any] | None = None, *,
                 code: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        if code is not None:
            self.code = code  # type: ignore[misc]
        if reason is not None:
            self.reason = reason  # type: ignore[misc]

    def to_status(self) -> dict[str, Any]:
        """The metav1 Status object for this error."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


class BadRequest(APIError):
    code = 400
    reason = "BadRequest"


class DecodeError(BadRequest):
    """A body or manifest that is not valid JSON/YAML; names source, line, column."""

    def __init__(self, source: str, line: int | None, column: int | None, problem: str) -> None:
        where = source
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem


class SelectorError(BadRequest):
    """A label or field selector that does not parse."""


class Unauthorized(APIError):
    code = 401
    reason = "Unauthorized"


class Forbidden(APIError):
    code = 403
    reason = "Forbidden"


class NotFound(APIError):
    code = 404
    reason = "NotFound"


class MethodNotAllowed(APIError):
    code = 405
    reason = "MethodNotAllowed"


class NotAcceptable(APIError):
    code = 406
    reason = "NotAcceptable"


class AlreadyExists(APIError):
    code = 409
    reason = "AlreadyExists"


class Conflict(APIError):
    code = 409
    reason = "Conflict"


class Gone(APIError):
    code = 410
    reason = "Gone"


class RequestEntityTooLarge(APIError):
    code = 413
    reason = "RequestEntityTooLarge"


class UnsupportedMediaType(APIError):
    code = 415
    reason = "UnsupportedMediaType"


class Invalid(APIError):
    code = 422
    reason = "Invalid"

    def __init__(self, message: str, details: dict[str, Any] | None = None, *,
                 errors: list[FieldError] | None = None) -> None:
        super().__init__(message, details)
        self.errors: list[FieldError] = list(errors or [])


class InternalError(APIError):
    code = 500
    reason = "InternalError"


class ServiceUnavailable(APIError):
    code = 503
    reason = "ServiceUnavailable"


class Timeout(APIError):
    code = 504
    reason = "Timeout"


# --- constructors with Kubernetes' wording -----------------------------------

def _qualified(resource_key: str) -> tuple[str, str]:
    """Split ``daemonsets.apps`` into (``daemonsets``, ``apps``)."""
    plural, _, group = resource_key.partition(".")
    return plural, group


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def not_found(resource_key: str, name: str) -> NotFound:
    """``pods "x" not found`` (resource_key as the store's: ``daemonsets.apps``)."""
    plural, group = _qualified(resource_key)
    return NotFound(f'{resource_key} "{name}" not found', _details(name, group, plural))


def already_exists(resource_key: str, name: str) -> AlreadyExists:
    plural, group = _qualified(resource_key)
    return AlreadyExists(f'{resource_key} "{name}" already exists',
                         _details(name, group, plural))


def conflict(resource_key: str, name: str,
             why: str = "the object has been modified; please apply your changes "
                        "to the latest version and try again") -> Conflict:
    plural, group = _qualified(resource_key)
    return Conflict(f'Operation cannot be fulfilled on {resource_key} "{name}": {why}',
                    _details(name, group, plural))


def expired(message: str) -> Gone:
    """A watch or list from a compacted resourceVersion (reason ``Expired``)."""
    return Gone(message, reason="Expired")


def forbidden(resource_key: str, name: str, why: str) -> Forbidden:
    plural, group = _qualified(resource_key)
    return Forbidden(f'{resource_key} "{name}" is forbidden: {why}',
                     _details(name, group, plural))


def invalid(kind: str, name: str, errors: list[FieldError], group: str = "") -> Invalid:
    """``Pod "x" is invalid: [...]`` with one cause per field error."""
    qualified = f"{kind}.{group}" if group else kind
    causes = [{"reason": e.type if e.type != UNKNOWN else INVALID,
               "message": e.body(), "field": e.field} for e in errors]
    details = _details(name, group, kind)
    details["causes"] = causes
    return Invalid(f'{qualified} "{name}" is invalid: {aggregate(errors)}', details,
                   errors=errors)


def internal_error(cause: str) -> InternalError:
    return InternalError(f"Internal error occurred: {cause}",
                         {"causes": [{"message": cause}]})


_BY_REASON: dict[str, type[APIError]] = {
    cls.reason: cls for cls in (
        BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, NotAcceptable,
        AlreadyExists, Conflict, Gone, RequestEntityTooLarge, UnsupportedMediaType,
        Invalid, InternalError, ServiceUnavailable, Timeout)
}
_BY_REASON["Expired"] = Gone
_BY_CODE: dict[int, type[APIError]] = {}
for _cls in _BY_REASON.values():
    _BY_CODE.setdefault(_cls.code, _cls)


def error_from_status(status: dict[str, Any]) -> APIError:
    """Turn a received ``Status`` into the exception the server raised."""
    reason = str(status.get("reason") or "")
    code = status.get("code")
    code_int = code if isinstance(code, int) else 500
    cls = _BY_REASON.get(reason) or _BY_CODE.get(code_int, APIError)
    message = str(status.get("message") or reason or f"status code {code_int}")
    details = status.get("details") if isinstance(status.get("details"), dict) else None
    if cls is Invalid:
        causes = (details or {}).get("causes") or []
        errors = [_cause_error(c) for c in causes if isinstance(c, dict)]
        return Invalid(message, details, errors=errors)
    err = cls(message, details)
    if reason and reason != cls.reason:
        err.reason = reason  # type: ignore[misc]
    if code_int != cls.code:
        err.code = code_int  # type: ignore[misc]
    return err


def _cause_error(cause: dict[str, Any]) -> FieldError:
    """A Status cause back as a FieldError; the detail keeps the full body text."""
    kind = str(cause.get("reason") or INVALID)
    body = str(cause.get("message") or "")
    prefix = _TYPE_TEXT.get(kind, "")
    if prefix and body.startswith(prefix):
        body = body[len(prefix):].lstrip(": ")
    return FieldError(kind, str(cause.get("field") or ""), OMIT, body)
