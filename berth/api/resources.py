"""The registry of resources berth serves, and the names they answer to.

Every layer names kinds through this table: the server builds discovery and
routes from it, the store keys objects by ``Resource.key``, the CLI resolves
``po``/``svc``/``ds`` with ``resolve()``, and decoding finds a manifest's
schema by ``by_kind(apiVersion, kind)``. The table is data; the lookups are
small dictionaries built once at import.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

#: An API object: plain JSON in Kubernetes' v1 shape.
Obj = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """One served resource (a kind at one group/version)."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = field(default_factory=frozenset)
    verbs: tuple[str, ...] = (
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

    @property
    def key(self) -> str:
        """The store key: ``pods``, ``daemonsets.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, else ``group/version``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_version(self) -> str:
        return self.api_version


def _r(group: str, version: str, kind: str, plural: str, namespaced: bool,
       short: tuple[str, ...] = (), sub: tuple[str, ...] = (),
       verbs: tuple[str, ...] | None = None) -> Resource:
    res = Resource(group, version, kind, plural, kind.lower(), namespaced, short,
                   frozenset(sub))
    return res if verbs is None else replace(res, verbs=verbs)


RESOURCES: tuple[Resource, ...] = (
    _r("", "v1", "Namespace", "namespaces", False, ("ns",), ("status", "finalize")),
    _r("", "v1", "Pod", "pods", True, ("po",), ("status", "log", "exec", "binding")),
    _r("", "v1", "Node", "nodes", False, ("no",), ("status",)),
    _r("", "v1", "Service", "services", True, ("svc",), ("status",)),
    _r("", "v1", "Endpoints", "endpoints", True, ("ep",)),
    _r("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    _r("", "v1", "Secret", "secrets", True),
    _r("", "v1", "Event", "events", True, ("ev",)),
    _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    _r("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), ("status",)),
    _r("coordination.k8s.io", "v1", "Lease", "leases", True),
    _r("", "v1", "Binding", "bindings", True, verbs=("create",)),
)

_BY_KEY = {r.key: r for r in RESOURCES}
_BY_GROUP_PLURAL = {(r.group, r.plural): r for r in RESOURCES}
_BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}
_NAMES: dict[str, Resource] = {}
for _res in RESOURCES:
    for _name in (_res.plural, _res.singular, _res.kind.lower(), *_res.short_names, _res.key,
                  f"{_res.singular}.{_res.group}" if _res.group else _res.singular,
                  f"{_res.plural}.{_res.version}.{_res.group}" if _res.group else _res.plural):
        _NAMES.setdefault(_name, _res)


def by_key(key: str) -> Resource | None:
    """The resource stored under ``key`` (``pods``, ``daemonsets.apps``)."""
    return _BY_KEY.get(key)


def by_plural(group: str, plural: str) -> Resource | None:
    """The resource at URL path ``/apis/<group>/<version>/<plural>`` ("" for core)."""
    return _BY_GROUP_PLURAL.get((group, plural))


def by_kind(api_version: str, kind: str) -> Resource | None:
    """The resource of a manifest's ``apiVersion`` + ``kind``."""
    return _BY_KIND.get((api_version, kind))


def resolve(name: str) -> Resource | None:
    """A CLI name: plural, singular, kind, short name or ``plural.group``."""
    return _NAMES.get(name.lower())


def for_object(obj: Obj) -> Resource | None:
    """The resource of an object, from its apiVersion and kind."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    return by_kind(api_version, kind)


def groups() -> dict[str, list[Resource]]:
    """Resources by group version (``v1``, ``apps/v1``), in table order; for discovery."""
    out: dict[str, list[Resource]] = {}
    for res in RESOURCES:
        out.setdefault(res.api_version, []).append(res)
    return out
