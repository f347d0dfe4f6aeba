"""``berth get``: list or fetch objects and print them as kubectl does.

``collect`` fetches (a name: GET; no name: LIST with selectors) for every kind
asked; the printers then render what came back: kubectl's plain columns from
``berth.api.tables`` (``-o wide`` adds the priority-1 columns, ``-A`` a
NAMESPACE column), ``-o json|yaml`` (one object, or a ``v1 List``) or
``-o name``. ``-w`` prints the table, then one row per change from a watch
that starts at the list's resourceVersion, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from berth.api.errors import APIError
from berth.api.resources import Resource
from berth.cli.common import (
    Obj,
    add_client_arguments,
    connect,
    kind_label,
    load_cluster,
    namespace_of,
    run,
    split_targets,
)
from berth.cli.errors import UsageError
from berth.cli.output import as_list, describe_error, dump

if TYPE_CHECKING:
    from berth.client import Client

FORMATS = ("wide", "yaml", "json", "name")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="+", metavar="KIND[,KIND...] [NAME...]",
                        help="resource types (pods, svc, nodes, ...) and optional names")
    parser.add_argument("-o", "--output", choices=FORMATS, help="output format")
    parser.add_argument("-A", "--all-namespaces", action="store_true",
                        help="list across all namespaces")
    parser.add_argument("-l", "--selector", help="label selector, e.g. app=web,tier!=db")
    parser.add_argument("--field-selector", help="field selector, e.g. spec.nodeName=node1")
    parser.add_argument("-w", "--watch", action="store_true",
                        help="after listing, print changes until interrupted")
    parser.add_argument("--no-headers", action="store_true", help="print tables without headers")
    add_client_arguments(parser)


def typed(res: Resource, obj: Obj) -> Obj:
    """List items come without apiVersion/kind; put them back like kubectl does."""
    return {"apiVersion": res.api_version, "kind": res.kind, **obj}


async def collect(client: Client, res: Resource, names: list[str], namespace: str | None,
                  args: argparse.Namespace) -> tuple[list[Obj], str, list[str]]:
    """(objects, list resourceVersion, error lines) for one kind."""
    ns = namespace if res.namespaced else None
    if names:
        objs, errors = [], []
        for name in names:
            try:
                objs.append(await client.get(res, ns, name))
            except APIError as exc:
                errors.append(describe_error(exc))
        return objs, "", errors
    listed = await client.list(res, ns, label_selector=args.selector,
                               field_selector=args.field_selector)
    items = [typed(res, item) for item in listed.get("items") or []]
    return items, str(listed.get("metadata", {}).get("resourceVersion", "")), []


def table_lines(res: Resource, objs: list[Obj], args: argparse.Namespace,
                prefix_kind: bool) -> list[list[str]]:
    from berth.api.tables import build_table, table_rows

    table = build_table(res.kind, objs)
    if prefix_kind:
        name_col = next((i for i, c in enumerate(table["columnDefinitions"])
                         if c["format"] == "name"), None)
        if name_col is not None:
            for row in table["rows"]:
                row["cells"][name_col] = f"{kind_label(res)}/{row['cells'][name_col]}"
    return table_rows(table, wide=args.output == "wide",
                      namespace_column=bool(args.all_namespaces and res.namespaced),
                      headers=not args.no_headers)


def print_objects(groups: list[tuple[Resource, list[Obj]]], args: argparse.Namespace,
                  single: bool) -> None:
    from berth.api.tables import align

    if args.output in ("json", "yaml"):
        objs = [obj for _, items in groups for obj in items]
        print(dump(objs[0] if single and len(objs) == 1 else as_list(objs), args.output))
        return
    if args.output == "name":
        for res, items in groups:
            for obj in items:
                print(f"{kind_label(res)}/{obj.get('metadata', {}).get('name', '')}")
        return
    blocks = [table_lines(res, items, args, len(groups) > 1) for res, items in groups if items]
    for i, block in enumerate(blocks):
        if i:
            print()
        print("\n".join(align(block)))


async def get_command(args: argparse.Namespace) -> int:
    targets = split_targets(args.targets)
    if args.watch and len(targets) != 1:
        raise UsageError("watch is only supported on individual resources and resource "
                         "collections, but 2 or more resources were found")
    config = load_cluster(args)
    namespace = None if args.all_namespaces else namespace_of(args, config)
    async with connect(config) as client:
        groups, errors, version = [], [], ""
        for res, names in targets:
            objs, version, errs = await collect(client, res, names, namespace, args)
            groups.append((res, objs))
            errors.extend(errs)
        for line in errors:
            print(line, file=sys.stderr)
        found = any(items for _, items in groups)
        single = len(targets) == 1 and len(targets[0][1]) == 1
        if found or args.output in ("json", "yaml"):
            print_objects(groups, args, single)
        elif not errors and not args.watch:
            where = f" in {namespace} namespace" if namespace and \
                any(r.namespaced for r, _ in targets) else ""
            print(f"No resources found{where}.", file=sys.stderr)
        if args.watch:
            res, names = targets[0]
            await watch_rows(client, res, names, namespace, version, groups[0][1], args)
    return 1 if errors else 0


async def watch_rows(client: Client, res: Resource, names: list[str], namespace: str | None,
                     version: str, shown: list[Obj], args: argparse.Namespace) -> None:
    """Print one row per change (in -o json/yaml/name: one object per change).

    The watch resumes from the last resourceVersion seen when the server ends
    the stream, and starts again from now when that version is too old (Gone).
    """
    import asyncio

    from berth.api.errors import Gone
    from berth.api.tables import align

    field_selector = args.field_selector
    if names:
        field_selector = ",".join(filter(None, [field_selector, f"metadata.name={names[0]}"]))
        version = max((str(o.get("metadata", {}).get("resourceVersion", "")) for o in shown),
                      key=lambda v: int(v) if v.isdigit() else 0, default="")
    header_done = bool(shown) or args.no_headers
    widths: list[int] | None = None
    if shown and args.output not in FORMATS[1:]:
        rows = table_lines(res, shown, args, False)
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    while True:
        try:
            async for event in client.watch(res, namespace if res.namespaced else None,
                                            resource_version=version or None,
                                            label_selector=args.selector,
                                            field_selector=field_selector):
                obj = typed(res, event.get("object") or {})
                version = str(obj.get("metadata", {}).get("resourceVersion", version))
                if event.get("type") == "BOOKMARK":
                    continue
                if args.output in FORMATS[1:]:
                    print_objects([(res, [obj])], args, True)
                    continue
                rows = table_lines(res, [obj], args, False)
                if header_done and not args.no_headers:
                    rows = rows[1:]
                header_done = True
                widths = widths or [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
                print("\n".join(align(rows, widths)), flush=True)
        except Gone:
            version = ""
        await asyncio.sleep(0.2)  # the server ended the stream: resume, without spinning


def main(args: argparse.Namespace) -> int:
    return run(lambda: get_command(args))
