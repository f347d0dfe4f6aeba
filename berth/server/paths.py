"""Resolving a request path to the resource it names, as a pure function.

Kubernetes REST paths have two roots, `/api/v1` for the core group and
`/apis/{group}/{version}` for the others, followed by one of

    {plural}                                   cluster-scoped collection, or all namespaces
    {plural}/{name}[/{subresource}]            a cluster-scoped object
    namespaces/{ns}/{plural}                   a namespaced collection
    namespaces/{ns}/{plural}/{name}[/{sub}]    a namespaced object

`namespaces/{name}[/status|/finalize]` is the Namespace object itself. `parse_target`
returns a `Target` or raises NotFound naming the unknown resource, so the handlers
never see a path they cannot serve.
"""

from __future__ import annotations

from dataclasses import dataclass

from berth.api.errors import NotFound
from berth.api.resources import Resource, by_plural


@dataclass(frozen=True)
class Target:
    """What a request addresses. namespace None: cluster-scoped, or every namespace."""

    resource: Resource
    namespace: str | None
    name: str | None = None
    subresource: str | None = None

    @property
    def is_collection(self) -> bool:
        return self.name is None


def not_found_path(path: str) -> NotFound:
    return NotFound("the server could not find the requested resource",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": path}]})


def _resource(group: str, version: str, plural: str) -> Resource:
    res = by_plural(group, plural)
    if res is None or res.version != version:
        gv = f"{group}/{version}" if group else version
        raise NotFound(f'the server could not find the requested resource '
                       f'(resource "{plural}" in group version "{gv}")',
                       {"kind": plural, "group": group})
    return res


def parse_target(group: str, version: str, rest: str) -> Target:
    """Resolve the path below a group-version root (no leading slash) to a Target."""
    parts = [p for p in rest.split("/") if p]
    if not parts:
        raise not_found_path(rest)
    if parts[0] == "namespaces" and len(parts) >= 3:
        if len(parts) == 3 and parts[2] in ("status", "finalize") and group == "":
            ns_res = _resource(group, version, "namespaces")
            if parts[2] in ns_res.subresources:
                return Target(ns_res, None, parts[1], parts[2])
        res = _resource(group, version, parts[2])
        if not res.namespaced:
            raise not_found_path(rest)
        return _object_target(res, parts[1], parts[3:], rest)
    res = _resource(group, version, parts[0])
    return _object_target(res, None, parts[1:], rest)


def _object_target(res: Resource, namespace: str | None, tail: list[str], rest: str) -> Target:
    if len(tail) > 2:
        raise not_found_path(rest)
    name = tail[0] if tail else None
    sub = tail[1] if len(tail) == 2 else None
    if sub is not None and sub not in res.subresources:
        raise NotFound(f'the server could not find the requested resource '
                       f'(subresource "{sub}" of {res.plural})')
    return Target(res, namespace, name, sub)
