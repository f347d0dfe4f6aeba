"""``berth delete KIND NAME... | -f FILE``: delete objects, then wait until they are gone.

Each deletion prints kubectl's ``pod "x" deleted``. Like kubectl, the command
then waits (``--wait``, the default) until the API no longer returns the
objects, polling with a deadline (``--timeout``), so a pod's graceful stop is
finished when the command returns. ``--now`` is ``--grace-period=1``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from berth.api.errors import APIError, NotFound
from berth.api.resources import Resource, for_object
from berth.cli.common import (
    add_client_arguments,
    connect,
    kind_label,
    load_cluster,
    namespace_of,
    run,
    split_targets,
)
from berth.cli.errors import UsageError
from berth.cli.output import describe_error

if TYPE_CHECKING:
    from berth.client import Client

Target = tuple[Resource, str | None, str]  # resource, namespace, name


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"--wait: expected true or false, not {text!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="*", metavar="KIND NAME...",
                        help="resource type and names (or KIND/NAME)")
    parser.add_argument("-f", "--filename", action="append", metavar="FILE",
                        help="delete the objects of these manifests")
    parser.add_argument("--grace-period", type=int, default=None,
                        help="seconds the pod gets to stop (default: the pod's own)")
    parser.add_argument("--now", action="store_true", help="same as --grace-period=1")
    parser.add_argument("--wait", type=_bool, nargs="?", const=True, default=True,
                        metavar="BOOL", help="wait until the objects are gone (default true)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait with --wait (default 60)")
    add_client_arguments(parser)


def plan_targets(args: argparse.Namespace, namespace: str) -> list[Target]:
    """What to delete, from names or from manifests."""
    if args.filename and args.targets:
        raise UsageError("give either KIND NAME... or -f FILE, not both")
    if args.filename:
        from berth.cli.manifests import load_documents

        out: list[Target] = []
        for doc in load_documents(args.filename):
            if doc.obj is None:
                raise UsageError(f"{doc.where}: {doc.error}")
            res = for_object(doc.obj)
            if res is None:
                raise UsageError(f'{doc.where}: no matches for kind "{doc.obj.get("kind")}"')
            meta = doc.obj.get("metadata") or {}
            ns = (meta.get("namespace") or namespace) if res.namespaced else None
            out.append((res, ns, str(meta.get("name", ""))))
        return out
    pairs = split_targets(args.targets)
    if any(not names for _, names in pairs):
        raise UsageError("resource(s) were provided, but no name was specified")
    return [(res, namespace if res.namespaced else None, name)
            for res, names in pairs for name in names]


async def wait_gone(client: Client, targets: list[Target], timeout: float) -> list[Target]:
    """Poll until every target answers NotFound; returns those still there at the deadline."""
    import asyncio

    deadline = time.monotonic() + timeout
    pending = list(targets)
    while pending:
        still = []
        for res, ns, name in pending:
            try:
                await client.get(res, ns, name)
                still.append((res, ns, name))
            except NotFound:
                pass
        pending = still
        if not pending or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.25)
    return pending


async def delete_command(args: argparse.Namespace) -> int:
    config = load_cluster(args)
    targets = plan_targets(args, namespace_of(args, config))
    grace = 1 if args.now else args.grace_period
    failed = False
    deleted: list[Target] = []
    async with connect(config) as client:
        for res, ns, name in targets:
            try:
                await client.delete(res, ns, name, grace_period=grace)
            except APIError as exc:
                print(describe_error(exc), file=sys.stderr)
                failed = True
                continue
            print(f'{kind_label(res)} "{name}" deleted', flush=True)
            deleted.append((res, ns, name))
        if args.wait and deleted:
            for res, _, name in await wait_gone(client, deleted, args.timeout):
                print(f'error: timed out waiting for {kind_label(res)} "{name}" to be deleted',
                      file=sys.stderr)
                failed = True
    return 1 if failed else 0


def main(args: argparse.Namespace) -> int:
    return run(lambda: delete_command(args))
