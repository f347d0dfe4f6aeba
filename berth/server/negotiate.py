"""Content negotiation and request options, as pure functions of headers and query.

`choose_output` reads `Accept` the way the Kubernetes API server does: a
`meta.k8s.io/v1` (or v1beta1) `as=Table` entry asks for a Table, JSON (or any
wildcard) for the object itself; protobuf is never served, so a request that
accepts only protobuf gets 406. `check_body_type` answers 415 for a body in a
media type the server does not decode. `list_options` and `delete_options` turn
the query string (and a DeleteOptions body) into small frozen values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from berth.api.errors import BadRequest, NotAcceptable, UnsupportedMediaType

JSON = "application/json"
YAML = "application/yaml"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
BODY_TYPES = (JSON, YAML, "application/x-yaml", "text/yaml")
PATCH_TYPES = (MERGE_PATCH, STRATEGIC_PATCH, JSON_PATCH)


@dataclass(frozen=True)
class Output:
    """How to render a response: a Table or the object itself."""

    table: bool = False


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    for item in accept.split(","):
        fields = [f.strip() for f in item.split(";")]
        media = fields[0].lower()
        params = {}
        for f in fields[1:]:
            k, _, v = f.partition("=")
            params[k.strip().lower()] = v.strip()
        if media:
            out.append((media, params))
    return out


def choose_output(accept: str | None) -> Output:
    """Pick the response form for an Accept header; NotAcceptable if JSON is not allowed."""
    if not accept:
        return Output()
    acceptable_json = False
    for media, params in _media_ranges(accept):
        if media in (JSON, "application/*", "*/*"):
            if params.get("as") == "Table":
                if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                    return Output(table=True)
                continue
            if params.get("as"):  # PartialObjectMetadata etc.: not served, skip
                continue
            acceptable_json = True
            break
        if media in (YAML,):
            acceptable_json = True
            break
    if not acceptable_json:
        raise NotAcceptable(f"only the following media types are accepted: {JSON}, "
                            f"{TABLE_CONTENT_TYPE}")
    return Output()


def base_media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_body_type(content_type: str | None, allowed: tuple[str, ...]) -> str:
    """The request body's media type if it is one of `allowed`; 415 otherwise."""
    media = base_media_type(content_type) or JSON
    if media not in allowed:
        raise UnsupportedMediaType(
            f'the body of the request was in an unknown format - accepted media types '
            f'include: {", ".join(allowed)}', {"causes": [{"message": media}]})
    return media


@dataclass(frozen=True)
class ListOptions:
    """The query parameters of a list or watch."""

    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str | None = None
    resource_version: str | None = None
    watch: bool = False
    allow_bookmarks: bool = False
    send_initial_events: bool | None = None
    timeout_seconds: int | None = None
    include_object: str = "Metadata"


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "yes")


def _int(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name}: invalid value {raw!r}: must be an integer") from None


def list_options(query: Mapping[str, str]) -> ListOptions:
    limit = _int(query, "limit") or 0
    if limit < 0:
        raise BadRequest(f"limit: invalid value {limit}: must be >= 0")
    sie = query.get("sendInitialEvents")
    return ListOptions(
        label_selector=query.get("labelSelector", ""),
        field_selector=query.get("fieldSelector", ""),
        limit=limit,
        continue_token=query.get("continue") or None,
        resource_version=query.get("resourceVersion") or None,
        watch=_flag(query.get("watch")),
        allow_bookmarks=_flag(query.get("allowWatchBookmarks")),
        send_initial_events=None if sie is None else _flag(sie),
        timeout_seconds=_int(query, "timeoutSeconds"),
        include_object=query.get("includeObject") or "Metadata",
    )


@dataclass(frozen=True)
class DeleteOptions:
    """DeleteOptions from the body and/or the query string."""

    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    dry_run: bool = False
    precondition_uid: str | None = None
    precondition_rv: str | None = None


PROPAGATION = ("Orphan", "Background", "Foreground")


def delete_options(query: Mapping[str, str], body: Any) -> DeleteOptions:
    """Merge DeleteOptions from a JSON body (may be None) and query parameters."""
    body = body if isinstance(body, dict) else {}
    grace = body.get("gracePeriodSeconds")
    if grace is None:
        grace = _int(query, "gracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
        raise BadRequest(f"gracePeriodSeconds: invalid value {grace!r}: must be an integer")
    policy = body.get("propagationPolicy") or query.get("propagationPolicy")
    if policy is not None and policy not in PROPAGATION:
        raise BadRequest(f"propagationPolicy: Unsupported value: {policy!r}: supported "
                         f"values: {', '.join(PROPAGATION)}")
    if body.get("orphanDependents") is True and policy is None:
        policy = "Orphan"
    pre = body.get("preconditions") or {}
    dry = body.get("dryRun") or query.get("dryRun")
    return DeleteOptions(
        grace_period_seconds=max(grace, 0) if grace is not None else None,
        propagation_policy=policy,
        dry_run=is_dry_run(dry),
        precondition_uid=pre.get("uid") if isinstance(pre, dict) else None,
        precondition_rv=pre.get("resourceVersion") if isinstance(pre, dict) else None,
    )


def is_dry_run(values: Any) -> bool:
    """dryRun=All (the only value Kubernetes defines); anything else is a 400."""
    if isinstance(values, str):
        values = [values]
    values = [v for v in (values or []) if v]
    for v in values:
        if v != "All":
            raise BadRequest(f'dryRun: Unsupported value: "{v}": supported values: "All"')
    return bool(values)
