"""Discovery documents: /version, /api, /apis, and one APIResourceList per group-version.

All are computed once from `berth.api.resources.RESOURCES` (pure functions here, cached
bytes in the app). kubectl and client-go ask for aggregated discovery
(`apidiscovery.k8s.io/v2`) first; answering with the legacy documents in
`application/json` makes them fall back, which Kubernetes clients support.
/version reports a 1.31 server so the kubectl dispatcher runs kubectl 1.31.
"""

from __future__ import annotations

from typing import Any

from berth.api.resources import Resource, groups
from berth.server.config import KUBERNETES_VERSION

Obj = dict[str, Any]
SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "finalize": ("update",),
    "log": ("get",),
    "exec": ("create", "get"),
    "binding": ("create",),
}
SUBRESOURCE_KIND = {"exec": "PodExecOptions", "binding": "Binding"}
CATEGORIES = {"pods": ["all"], "services": ["all"], "daemonsets": ["all"]}


def version_info() -> Obj:
    major, minor, _ = KUBERNETES_VERSION.lstrip("v").split(".", 2)
    return {
        "major": major, "minor": minor, "gitVersion": KUBERNETES_VERSION + "+berth",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22.5", "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def _group_entry(group: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list() -> Obj:
    by_group: dict[str, list[str]] = {}
    for gv in groups():
        if "/" in gv:
            group, version = gv.split("/", 1)
            by_group.setdefault(group, []).append(version)
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_entry(g, vs) for g, vs in by_group.items()]}


def api_group(group: str) -> Obj | None:
    versions = [gv.split("/", 1)[1] for gv in groups() if gv.startswith(group + "/")]
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def _resource_entries(res: Resource) -> list[Obj]:
    main: Obj = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced,
                 "kind": res.kind, "verbs": list(res.verbs)}
    if res.short_names:
        main["shortNames"] = list(res.short_names)
    if res.plural in CATEGORIES:
        main["categories"] = CATEGORIES[res.plural]
    out = [main]
    for sub in sorted(res.subresources):
        out.append({"name": f"{res.plural}/{sub}", "singularName": "",
                    "namespaced": res.namespaced, "kind": SUBRESOURCE_KIND.get(sub, res.kind),
                    "verbs": list(SUBRESOURCE_VERBS.get(sub, ("get",)))})
    return out


def api_resource_list(group_version: str) -> Obj | None:
    resources = groups().get(group_version)
    if resources is None:
        return None
    entries = [e for res in resources for e in _resource_entries(res)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": entries}
