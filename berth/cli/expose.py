"""``berth expose KIND NAME --port P``: make a Service for a pod, Service or workload (kubectl expose).

``plan_service`` is pure: from the object to expose and the flags it builds
the Service, as kubectl does - the selector is the pod's labels, a Service's
selector, or a workload's ``spec.selector.matchLabels`` (``--selector``
overrides it); without ``--port`` the ports are the pod's (or template's)
container ports, or the Service's ports; ``--target-port`` defaults to the
port.  ``main`` reads the object, creates the Service (the API server checks
ports and addresses and answers with the field at fault) and prints
``service/NAME exposed``; ``--dry-run`` prints the Service instead.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from berth.api.resources import Resource
from berth.cli.common import add_client_arguments, connect, load_cluster, namespace_of, run
from berth.cli.common import resolve_kind as _resolve_kind
from berth.cli.errors import UsageError

Obj = dict[str, Any]
EXPOSABLE = ("pods", "services", "daemonsets.apps", "deployments.apps", "replicasets.apps",
             "replicationcontrollers", "statefulsets.apps")
TYPES = ("ClusterIP", "NodePort", "LoadBalancer")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="+", metavar="KIND NAME",
                        help="pod|service|daemonset NAME (or KIND/NAME)")
    parser.add_argument("--port", help="the Service's port (default: the object's ports)")
    parser.add_argument("--target-port", help="the pods' port, number or name "
                        "(default: --port)")
    parser.add_argument("--protocol", help="TCP, UDP or SCTP (default: the object's, else TCP)")
    parser.add_argument("--type", default="", help="ClusterIP (default), NodePort or "
                        "LoadBalancer")
    parser.add_argument("--name", help="the Service's name (default: the object's name)")
    parser.add_argument("--selector", "-l", help="the Service's selector, k=v[,k=v] "
                        "(default: from the object)")
    parser.add_argument("--session-affinity", default="", help="None or ClientIP")
    parser.add_argument("--cluster-ip", default="", help="an explicit clusterIP ('None': "
                        "headless)")
    parser.add_argument("--dry-run", nargs="?", const="client", default="none",
                        choices=("none", "client"), help="print the Service, create nothing")
    parser.add_argument("-o", "--output", default="yaml", choices=("yaml", "json"),
                        help="format for --dry-run (default yaml)")
    add_client_arguments(parser)


def parse_target(words: list[str]) -> tuple[Resource, str]:
    """``pod web`` or ``pod/web`` -> (pods, "web"), refusing kinds that cannot be exposed."""
    if len(words) == 1 and "/" in words[0]:
        kind, _, name = words[0].partition("/")
    elif len(words) == 2:
        kind, name = words
    else:
        raise UsageError("expose: give one object: KIND NAME or KIND/NAME")
    res = _resolve_kind(kind)
    if res.key not in EXPOSABLE:
        raise UsageError(f"cannot expose a {res.kind}: expose a pod, service, daemonset, "
                         "deployment, replicaset or statefulset")
    if not name:
        raise UsageError("expose: the object's NAME is missing")
    return res, name


def _selector_text(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--selector: {part!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def _int_or_name(text: str, flag: str) -> int | str:
    if text.isdigit():
        return int(text)
    if not text:
        raise UsageError(f"{flag}: empty")
    return text


def _introspect(res: Resource, obj: Obj) -> tuple[dict[str, str], list[Obj]]:
    """The object's selector and its ports as Service ports (unnamed yet)."""
    spec = obj.get("spec") or {}
    if res.key == "services":
        ports = [{k: v for k, v in p.items() if k in ("name", "port", "protocol", "targetPort")}
                 for p in spec.get("ports") or []]
        return dict(spec.get("selector") or {}), ports
    if res.key == "pods":
        selector = dict((obj.get("metadata") or {}).get("labels") or {})
        pod_spec = spec
    else:
        sel = spec.get("selector") or {}
        if res.key == "replicationcontrollers":
            selector = dict(sel)
        elif sel.get("matchExpressions"):
            raise UsageError(f"couldn't convert the selector of {res.singular} "
                             f"{obj['metadata']['name']}: matchExpressions cannot be a "
                             "Service selector")
        else:
            selector = dict(sel.get("matchLabels") or {})
        pod_spec = (spec.get("template") or {}).get("spec") or {}
    ports = [{"port": p["containerPort"], "protocol": p.get("protocol", "TCP"),
              "targetPort": p["containerPort"]}
             for c in pod_spec.get("containers") or [] for p in c.get("ports") or []
             if isinstance(p.get("containerPort"), int)]
    return selector, ports


def plan_service(res: Resource, obj: Obj, args: argparse.Namespace) -> Obj:
    """The Service ``berth expose`` creates for ``obj`` (pure; UsageError names the flag)."""
    meta = obj.get("metadata") or {}
    selector, ports = _introspect(res, obj)
    if args.selector:
        selector = _selector_text(args.selector)
    if not selector:
        raise UsageError(f"couldn't retrieve selectors via --selector flag or introspection: "
                         f"{res.singular} {meta.get('name')} has no labels to select it by")
    if args.port:
        port = _int_or_name(args.port, "--port")
        if not isinstance(port, int):
            raise UsageError(f"--port: {args.port!r} is not a number")
        protocol = args.protocol or (ports[0].get("protocol", "TCP") if len(ports) == 1
                                     else "TCP")
        ports = [{"port": port, "protocol": protocol, "targetPort": port}]
    elif not ports:
        raise UsageError(f"couldn't find port via --port flag or introspection: "
                         f"{res.singular} {meta.get('name')} declares no ports")
    elif args.protocol:
        ports = [{**p, "protocol": args.protocol} for p in ports]
    if args.target_port:
        if len(ports) > 1:
            raise UsageError("--target-port: the object has several ports; give --port too")
        ports = [{**ports[0], "targetPort": _int_or_name(args.target_port, "--target-port")}]
    if len(ports) > 1:
        ports = [{**p, "name": p.get("name") or f"port-{i}"} for i, p in enumerate(ports, 1)]
    if args.type and args.type not in TYPES:
        raise UsageError(f"--type: {args.type!r}: choose {', '.join(TYPES)}")
    spec: Obj = {"selector": selector, "ports": ports}
    if args.type:
        spec["type"] = args.type
    if args.session_affinity:
        spec["sessionAffinity"] = args.session_affinity
    if args.cluster_ip:
        spec["clusterIP"] = args.cluster_ip
    labels = meta.get("labels") or ({} if res.key != "pods" else selector)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": args.name or meta.get("name"),
                         **({"labels": dict(labels)} if labels else {})},
            "spec": spec}


def main(args: argparse.Namespace) -> int:
    from berth.api.resources import by_key
    from berth.cli.output import dump

    res, name = parse_target(args.target)
    config = load_cluster(args)
    namespace = namespace_of(args, config)
    services = by_key("services")
    assert services is not None

    async def command() -> int:
        client = connect(config)
        try:
            obj = await client.get(res, namespace, name)
            service = plan_service(res, obj, args)
            service["metadata"]["namespace"] = namespace
            if args.dry_run == "client":
                sys.stdout.write(dump(service, args.output))
                return 0
            made = await client.create(services, service, namespace)
            print(f"service/{made['metadata']['name']} exposed")
            return 0
        finally:
            await client.close()

    return run(command)
