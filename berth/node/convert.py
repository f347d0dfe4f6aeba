"""From a Pod's JSON to the runtime's configs: pure translation, no I/O.

``plan_sandbox_config`` gives the CRI ``PodSandboxConfig`` (identity labels,
hostname, DNS per dnsPolicy, cgroup parent, shared PID namespace, host
aliases); ``plan_container_config`` the ``ContainerConfig`` of one container
given its already resolved environment and mounts (cpu/memory to cgroup
values, security context, log path ``<name>/<attempt>.log``).
``plan_env`` resolves env and envFrom against prefetched ConfigMaps and
Secrets (``Sources``), naming the variable when a reference is missing.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from berth.api.addressplan import DEFAULT_PLAN
from berth.node import labels, podspec
from berth.node.errors import EnvError
from berth.node.runtime.protocol import (
    ContainerConfig,
    ContainerMetadata,
    DNSConfig,
    HostAlias,
    LinuxContainerResources,
    LinuxContainerSecurityContext,
    LinuxPodSandboxConfig,
    Mount,
    PodSandboxConfig,
    PodSandboxMetadata,
    PortMapping,
)

Obj = dict[str, Any]
CPU_PERIOD = 100_000


@dataclass(frozen=True)
class ClusterDNS:
    servers: tuple[str, ...] = (str(DEFAULT_PLAN.dns_ip),)
    domain: str = DEFAULT_PLAN.cluster_domain


@dataclass
class Sources:
    """ConfigMaps and Secrets of the pod's namespace, by name (data already decoded)."""

    config_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, dict[str, bytes]] = field(default_factory=dict)


def decode_secret(obj: Obj) -> dict[str, bytes]:
    data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    data.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
    return data


def config_map_data(obj: Obj) -> dict[str, str]:
    data = {k: str(v) for k, v in (obj.get("data") or {}).items()}
    data.update({k: base64.b64decode(v).decode(errors="replace")
                 for k, v in (obj.get("binaryData") or {}).items()})
    return data


def referenced_sources(pod: Obj) -> tuple[set[str], set[str]]:
    """(configMap names, secret names) the pod's env, envFrom and volumes use."""
    cms: set[str] = set()
    secrets: set[str] = set()
    for c in podspec.all_containers(pod):
        for env in c.spec.get("env") or []:
            ref = env.get("valueFrom") or {}
            if "configMapKeyRef" in ref:
                cms.add(ref["configMapKeyRef"]["name"])
            if "secretKeyRef" in ref:
                secrets.add(ref["secretKeyRef"]["name"])
        for src in c.spec.get("envFrom") or []:
            if "configMapRef" in src:
                cms.add(src["configMapRef"]["name"])
            if "secretRef" in src:
                secrets.add(src["secretRef"]["name"])
    for vol in podspec.spec(pod).get("volumes") or []:
        if "configMap" in vol:
            cms.add(vol["configMap"].get("name", ""))
        if "secret" in vol:
            secrets.add(vol["secret"].get("secretName", ""))
    return cms - {""}, secrets - {""}


def _expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion; $$ escapes; unknown references stay as they are."""
    out, i = [], 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        elif value.startswith("$(", i) and ")" in value[i:]:
            end = value.index(")", i)
            name = value[i + 2:end]
            out.append(env.get(name, value[i:end + 1]))
            i = end + 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _keyed(kind: str, table: dict[str, Any], ref: Obj, var: str) -> Any:
    name, key = ref.get("name", ""), ref.get("key", "")
    if name not in table:
        if ref.get("optional"):
            return None
        raise EnvError(f'env {var}: {kind} "{name}" not found')
    if key not in table[name]:
        if ref.get("optional"):
            return None
        raise EnvError(f'env {var}: couldn\'t find key {key} in {kind} "{name}"')
    return table[name][key]


def plan_env(pod: Obj, c: Obj, sources: Sources, *, node_name: str, pod_ip: str,
             host_ip: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for src in c.get("envFrom") or []:
        prefix = src.get("prefix", "")
        for kind, key, table in (("configmap", "configMapRef", sources.config_maps),
                                 ("secret", "secretRef", sources.secrets)):
            if key not in src:
                continue
            name = src[key].get("name", "")
            if name not in table:
                if src[key].get("optional"):
                    continue
                raise EnvError(f'envFrom: {kind} "{name}" not found')
            for k, v in table[name].items():
                env[prefix + k] = v.decode(errors="replace") if isinstance(v, bytes) else v
    for item in c.get("env") or []:
        var = item["name"]
        if "value" in item or "valueFrom" not in item:
            env[var] = _expand(str(item.get("value", "")), env)
            continue
        ref = item["valueFrom"]
        if "fieldRef" in ref:
            path = ref["fieldRef"].get("fieldPath", "")
            try:
                env[var] = podspec.field_ref(pod, path, node_name, pod_ip, host_ip)
            except KeyError:
                raise EnvError(f"env {var}: unsupported fieldPath {path!r}") from None
        elif "resourceFieldRef" in ref:
            r = ref["resourceFieldRef"]
            target = c
            if r.get("containerName"):
                found = podspec.find_container(pod, r["containerName"])
                target = found.spec if found else c
            env[var] = podspec.resource_ref(target, r.get("resource", ""), r.get("divisor"))
        elif "configMapKeyRef" in ref:
            value = _keyed("configmap", sources.config_maps, ref["configMapKeyRef"], var)
            if value is not None:
                env[var] = value
        elif "secretKeyRef" in ref:
            value = _keyed("secret", sources.secrets, ref["secretKeyRef"], var)
            if value is not None:
                env[var] = value.decode(errors="replace")
    return env


def plan_sandbox_config(pod: Obj, *, log_dir: str, cgroup_parent: str, dns: ClusterDNS,
                        attempt: int = 0, node_name: str = "",
                        node_netns_path: str = "") -> PodSandboxConfig:
    """The sandbox of ``pod``; a hostNetwork pod joins ``node_netns_path`` (kubelet's rules:
    the node's hostname, and the node's resolv.conf unless ClusterFirstWithHostNet)."""
    m, s = podspec.meta(pod), podspec.spec(pod)
    ns, name, uid = m.get("namespace", "default"), m.get("name", ""), m.get("uid", "")
    host_network = bool(s.get("hostNetwork"))
    hostname = (node_name or name) if host_network else (s.get("hostname") or name)
    dns_config = None
    policy = s.get("dnsPolicy", "ClusterFirst")
    cluster_first = ("ClusterFirstWithHostNet",) if host_network \
        else ("ClusterFirst", "ClusterFirstWithHostNet")
    if policy in cluster_first:
        dns_config = DNSConfig(
            servers=list(dns.servers),
            searches=[f"{ns}.svc.{dns.domain}", f"svc.{dns.domain}", dns.domain],
            options=["ndots:5"])
    elif policy == "None":
        conf = s.get("dnsConfig") or {}
        dns_config = DNSConfig(
            servers=list(conf.get("nameservers") or []),
            searches=list(conf.get("searches") or []),
            options=[o["name"] + (f":{o['value']}" if o.get("value") else "")
                     for o in conf.get("options") or []])
    ports = [PortMapping(container_port=int(p["containerPort"]),
                         host_port=int(p.get("hostPort") or 0),
                         protocol=p.get("protocol", "TCP"), host_ip=p.get("hostIP", ""))
             for c in podspec.app_containers(pod) for p in c.spec.get("ports") or []]
    aliases = [HostAlias(ip=a.get("ip", ""), hostnames=list(a.get("hostnames") or []))
               for a in s.get("hostAliases") or []]
    fqdn = f"{hostname}.{s['subdomain']}.{ns}.svc.{dns.domain}" if s.get("subdomain") else ""
    return PodSandboxConfig(
        metadata=PodSandboxMetadata(name=name, namespace=ns, uid=uid, attempt=attempt),
        hostname=hostname, log_directory=log_dir, dns_config=dns_config,
        port_mappings=ports, labels=labels.pod_labels(ns, name, uid),
        annotations=dict(m.get("annotations") or {}),
        linux=LinuxPodSandboxConfig(
            cgroup_parent=cgroup_parent,
            share_process_namespace=bool(s.get("shareProcessNamespace")),
            host_network=host_network, host_netns_path=node_netns_path if host_network else ""),
        host_aliases=aliases, hostname_fqdn=fqdn)


def plan_resources(c: Obj) -> LinuxContainerResources:
    res = c.get("resources") or {}
    requests, limits = res.get("requests") or {}, res.get("limits") or {}
    quota = shares = memory = 0
    if "cpu" in limits:
        quota = max(1000, podspec.cpu_millis(limits["cpu"]) * CPU_PERIOD // 1000)
    cpu_request = requests.get("cpu", limits.get("cpu"))
    shares = max(2, podspec.cpu_millis(cpu_request) * 1024 // 1000) if cpu_request else 2
    if "memory" in limits:
        memory = podspec.memory_bytes(limits["memory"])
    return LinuxContainerResources(cpu_period=CPU_PERIOD if quota else 0, cpu_quota=quota,
                                   cpu_shares=shares, memory_limit_in_bytes=memory)


def plan_security(pod: Obj, c: Obj) -> LinuxContainerSecurityContext:
    pod_sc = podspec.spec(pod).get("securityContext") or {}
    sc = c.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    group = sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    return LinuxContainerSecurityContext(
        run_as_user=None if user is None else int(user),
        run_as_group=None if group is None else int(group),
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        privileged=bool(sc.get("privileged")),
        no_new_privs=sc.get("allowPrivilegeEscalation") is False,
        add_capabilities=list(caps.get("add") or []),
        drop_capabilities=list(caps.get("drop") or []),
        supplemental_groups=[int(g) for g in pod_sc.get("supplementalGroups") or []])


def plan_container_config(pod: Obj, c: podspec.ContainerSpec, *, attempt: int,
                          env: dict[str, str], mounts: list[Mount]) -> ContainerConfig:
    m = podspec.meta(pod)
    lbl = labels.pod_labels(m.get("namespace", "default"), m.get("name", ""), m.get("uid", ""))
    lbl[labels.CONTAINER_NAME] = c.name
    lbl[labels.CONTAINER_KIND] = c.kind
    command = [_expand(str(a), env) for a in c.spec.get("command") or []]
    args = [_expand(str(a), env) for a in c.spec.get("args") or []]
    return ContainerConfig(
        metadata=ContainerMetadata(name=c.name, attempt=attempt), image=c.spec.get("image", ""),
        command=command, args=args, working_dir=c.spec.get("workingDir", ""), envs=env,
        mounts=mounts, labels=lbl, log_path=f"{c.name}/{attempt}.log",
        stdin=bool(c.spec.get("stdin")), tty=bool(c.spec.get("tty")),
        resources=plan_resources(c.spec), security=plan_security(pod, c.spec))
