"""``berth describe KIND NAME...``: an object and its events, for people.

The object comes from a GET, its events from a LIST of ``events`` with a
``involvedObject.*`` field selector (filtered again locally, in case the
server ignores a field); ``describe_text`` lays both out like kubectl.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from berth.api.errors import APIError, BadRequest
from berth.api.resources import Resource, resolve
from berth.cli.common import (
    Obj,
    add_client_arguments,
    connect,
    load_cluster,
    namespace_of,
    run,
    split_targets,
)
from berth.cli.output import describe_error

if TYPE_CHECKING:
    from berth.client import Client


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="+", metavar="KIND NAME...",
                        help="resource type and names (or KIND/NAME)")
    add_client_arguments(parser)


async def events_for(client: Client, obj: Obj) -> list[Obj]:
    """The events whose involvedObject is ``obj``."""
    events = resolve("events")
    assert events is not None
    meta = obj.get("metadata", {})
    wanted = {"name": meta.get("name"), "kind": obj.get("kind")}
    if meta.get("namespace"):
        wanted["namespace"] = meta["namespace"]
    selector = ",".join(f"involvedObject.{k}={v}" for k, v in wanted.items())
    ns = meta.get("namespace") or None
    try:
        listed = await client.list(events, ns, field_selector=selector)
    except BadRequest:
        listed = await client.list(events, ns)
    items = listed.get("items") or []
    return [ev for ev in items
            if all((ev.get("involvedObject") or {}).get(k) == v for k, v in wanted.items())]


async def describe_one(client: Client, res: Resource, namespace: str, name: str) -> str:
    from berth.cli.describe_text import describe

    obj = await client.get(res, namespace if res.namespaced else None, name)
    obj.setdefault("kind", res.kind)
    try:
        events = await events_for(client, obj)
    except APIError:
        events = []
    return describe(obj, events)


async def describe_command(args: argparse.Namespace) -> int:
    targets = split_targets(args.targets)
    config = load_cluster(args)
    namespace = namespace_of(args, config)
    failed = False
    first = True
    async with connect(config) as client:
        for res, names in targets:
            if not names:
                listed = await client.list(res, namespace if res.namespaced else None)
                names = [i.get("metadata", {}).get("name", "") for i in listed.get("items") or []]
            for name in names:
                try:
                    text = await describe_one(client, res, namespace, name)
                except APIError as exc:
                    print(describe_error(exc), file=sys.stderr)
                    failed = True
                    continue
                if not first:
                    print("\n")
                first = False
                print(text)
    return 1 if failed else 0


def main(args: argparse.Namespace) -> int:
    return run(lambda: describe_command(args))
