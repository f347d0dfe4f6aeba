"""The CNI client (libcni's role): run a network's plugin chain for one attachment.

``CNIClient`` executes plugins found in its bin dirs (``invoke``), chooses the
protocol version once per network (``negotiate``: the highest of the
network's ``cniVersion``/``cniVersions`` that berth and every plugin of the
chain support, from each plugin's VERSION reply), and builds each plugin's
stdin the way libcni does: ``name``, ``cniVersion``, ``prevResult`` and
``runtimeConfig`` for the capabilities the plugin declares.  ADD runs the chain
in order, threading each result (of any version, converted) into the next
plugin's prevResult, and records the attachment in the ``ResultCache``; DEL
runs it in reverse with the cached result; CHECK needs the cached result;
STATUS and GC are 1.1.0 only.  The API is synchronous: run it in a thread
(``asyncio.to_thread``); plugins inherit that thread's network namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from berth.cni import invoke
from berth.cni.cache import DEFAULT_CACHE_DIR, CachedAttachment, ResultCache
from berth.cni.confdir import NetworkConfigList
from berth.cni.errors import CNIError, IncompatibleVersion, PluginError, UnknownContainer
from berth.cni.spec import SUPPORTED_VERSIONS, Result, at_least, parse_result, version_tuple

CAPABILITIES = ("portMappings", "ips", "mac", "bandwidth", "dns", "ipRanges", "aliases")


@dataclass(frozen=True)
class RuntimeConf:
    """One attachment: which container, which namespace, which interface, which arguments."""

    container_id: str
    netns: str = ""
    ifname: str = "eth0"
    args: tuple[tuple[str, str], ...] = ()
    capability_args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Attachment:
    container_id: str
    ifname: str


def pod_args(namespace: str, name: str, infra_container_id: str, uid: str
             ) -> tuple[tuple[str, str], ...]:
    """The CNI_ARGS a kubelet passes for a pod."""
    return (("IgnoreUnknown", "1"), ("K8S_POD_NAMESPACE", namespace), ("K8S_POD_NAME", name),
            ("K8S_POD_INFRA_CONTAINER_ID", infra_container_id), ("K8S_POD_UID", uid))


def build_plugin_conf(net: NetworkConfigList, plugin: dict[str, Any], version: str,
                      prev: Result | None, rt: RuntimeConf | None,
                      extra: Mapping[str, Any] | None = None) -> bytes:
    conf = dict(plugin)
    conf["name"] = net.name
    conf["cniVersion"] = version
    conf.pop("prevResult", None)
    if prev is not None:
        conf["prevResult"] = prev.to_dict(version)
    if rt is not None:
        declared = plugin.get("capabilities") or {}
        runtime = {cap: rt.capability_args[cap] for cap, on in declared.items()
                   if on and cap in rt.capability_args}
        if runtime:
            conf["runtimeConfig"] = runtime
    if extra:
        conf.update(extra)
    return json.dumps(conf).encode()


class CNIClient:
    def __init__(self, bin_dirs: Sequence[str], cache_dir: str = DEFAULT_CACHE_DIR, *,
                 timeout: float = invoke.DEFAULT_TIMEOUT,
                 env: Mapping[str, str] | None = None) -> None:
        self.bin_dirs = list(bin_dirs)
        self.cache = ResultCache(cache_dir)
        self.timeout = timeout
        self.env = env
        self._versions: dict[tuple[str, float], tuple[str, ...]] = {}

    # -- plumbing --------------------------------------------------------------------------

    def _exec(self, kind: str, call: invoke.Call, stdin: bytes) -> dict[str, Any] | None:
        path = invoke.find_plugin(kind, self.bin_dirs)
        return invoke.exec_plugin(path, call, stdin, timeout=self.timeout, base_env=self.env)

    def _call(self, command: str, rt: RuntimeConf) -> invoke.Call:
        return invoke.Call(command, rt.container_id, rt.netns, rt.ifname, rt.args,
                           self.bin_dirs)

    def plugin_versions(self, kind: str) -> tuple[str, ...]:
        """The versions a plugin reports with VERSION (cached per binary and mtime)."""
        path = invoke.find_plugin(kind, self.bin_dirs)
        key = (path, os.stat(path).st_mtime)
        if key not in self._versions:
            reply = invoke.exec_plugin(path, invoke.Call("VERSION"),
                                       json.dumps({"cniVersion": "0.4.0"}).encode(),
                                       timeout=self.timeout, base_env=self.env) or {}
            versions = reply.get("supportedVersions")
            if not isinstance(versions, list):
                raise PluginError(kind, "VERSION reply has no supportedVersions list", code=999)
            self._versions[key] = tuple(str(v) for v in versions)
        return self._versions[key]

    def negotiate(self, net: NetworkConfigList) -> str:
        """The version this network's chain runs at (code 1 if there is none)."""
        wanted = list(net.cni_versions) or [net.cni_version]
        candidates = sorted((v for v in wanted if v in SUPPORTED_VERSIONS),
                            key=version_tuple, reverse=True)
        if not candidates:
            raise IncompatibleVersion(f"{net.source}: cniVersion {wanted} not supported",
                                      f"berth supports {list(SUPPORTED_VERSIONS)}")
        for plugin in net.plugins:
            have = self.plugin_versions(plugin["type"])
            candidates = [v for v in candidates if v in have]
            if not candidates:
                raise IncompatibleVersion(
                    f"plugin {plugin['type']} supports none of {wanted}",
                    f"it supports {list(have)}")
        return candidates[0]

    # -- commands --------------------------------------------------------------------------

    def add(self, net: NetworkConfigList, rt: RuntimeConf) -> Result:
        """ADD the chain; on failure the chain is DELeted again before the error is raised."""
        version = self.negotiate(net)
        prev: Result | None = None
        try:
            for plugin in net.plugins:
                stdin = build_plugin_conf(net, plugin, version, prev, rt)
                reply = self._exec(plugin["type"], self._call("ADD", rt), stdin)
                if reply is None:
                    raise PluginError(plugin["type"], "ADD printed no result", code=999)
                try:
                    prev = parse_result(reply, f"{plugin['type']} result")
                except CNIError as exc:
                    kind = plugin["type"]
                    raise PluginError(kind, exc.msg, exc.details, code=exc.code) from exc
        except CNIError:
            with contextlib.suppress(CNIError):
                self._delete(net, rt, version, prev if at_least(version, "0.4.0") else None)
            raise
        assert prev is not None
        result = Result(version, prev.interfaces, prev.ips, prev.routes, prev.dns)
        self.cache.save(CachedAttachment(net.name, rt.container_id, rt.ifname, rt.netns,
                                         rt.args, dict(rt.capability_args), net.raw,
                                         result.to_dict(version)))
        return result

    def cached_result(self, net: NetworkConfigList, rt: RuntimeConf) -> Result | None:
        entry = self.cache.load(net.name, rt.container_id, rt.ifname)
        if entry is None or entry.result is None:
            return None
        try:
            return parse_result(entry.result, "cached result")
        except CNIError:
            return None

    def delete(self, net: NetworkConfigList, rt: RuntimeConf) -> None:
        version = self.negotiate(net)
        prev = self.cached_result(net, rt) if at_least(version, "0.4.0") else None
        self._delete(net, rt, version, prev)
        self.cache.remove(net.name, rt.container_id, rt.ifname)

    def _delete(self, net: NetworkConfigList, rt: RuntimeConf, version: str,
                prev: Result | None) -> None:
        for plugin in reversed(net.plugins):
            stdin = build_plugin_conf(net, plugin, version, prev, rt)
            self._exec(plugin["type"], self._call("DEL", rt), stdin)

    def check(self, net: NetworkConfigList, rt: RuntimeConf) -> None:
        version = self.negotiate(net)
        if not at_least(version, "0.4.0"):
            raise IncompatibleVersion(f"CHECK needs cniVersion 0.4.0 or later, not {version}")
        if net.disable_check:
            return
        prev = self.cached_result(net, rt)
        if prev is None:
            raise UnknownContainer(
                f"no cached result for {net.name}/{rt.container_id}/{rt.ifname}",
                "CHECK needs the result of a previous ADD")
        for plugin in net.plugins:
            stdin = build_plugin_conf(net, plugin, version, prev, rt)
            self._exec(plugin["type"], self._call("CHECK", rt), stdin)

    def status(self, net: NetworkConfigList) -> None:
        """STATUS of every plugin (1.1.0); raises the first plugin's error (codes 50/51)."""
        version = self.negotiate(net)
        if not at_least(version, "1.1.0"):
            return
        for plugin in net.plugins:
            stdin = build_plugin_conf(net, plugin, version, None, None)
            self._exec(plugin["type"], invoke.Call("STATUS", path=self.bin_dirs), stdin)

    def gc(self, net: NetworkConfigList, valid: Iterable[Attachment]) -> None:
        """DEL cached attachments not in ``valid``, then GC every plugin (1.1.0)."""
        keep = {(a.container_id, a.ifname) for a in valid}
        errors: list[CNIError] = []
        for entry in self.cache.list(net.name):
            if (entry.container_id, entry.ifname) in keep:
                continue
            rt = RuntimeConf(entry.container_id, entry.netns, entry.ifname, entry.args,
                             entry.capability_args)
            try:
                self.delete(net, rt)
            except CNIError as exc:
                errors.append(exc)
        version = self.negotiate(net)
        if at_least(version, "1.1.0") and not net.disable_gc:
            attachments = [{"containerID": c, "ifname": i} for c, i in sorted(keep)]
            for plugin in net.plugins:
                stdin = build_plugin_conf(net, plugin, version, None, None,
                                          {"cni.dev/valid-attachments": attachments})
                try:
                    self._exec(plugin["type"], invoke.Call("GC", path=self.bin_dirs), stdin)
                except CNIError as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]
