"""``berth apply -f FILE|DIR|-``: kubectl's client-side apply, one document at a time.

Each document is checked locally first (strict decoding: unknown fields with a
did-you-mean hint, then the same validation the server runs), so a typo is
reported before anything is sent. The rest is ``berth.api.apply.plan_apply``:
create the object with its last-applied annotation, or send the three-way
strategic merge patch, or nothing. Every document prints one line
(``pod/nginx created|configured|unchanged``) or its error; the exit code is 1
when any failed, and the others are applied anyway.
"""

from __future__ import annotations

import argparse
import copy
import sys
from typing import TYPE_CHECKING, Any

from berth.api.errors import UNKNOWN, APIError, FieldError, NotFound
from berth.api.resources import for_object
from berth.cli.common import (
    Obj,
    add_client_arguments,
    connect,
    kind_label,
    load_cluster,
    namespace_of,
    run,
)
from berth.cli.output import describe_error, describe_invalid

if TYPE_CHECKING:
    from berth.cli.manifests import Document
    from berth.client import Client

PAST = {"create": "created", "patch": "configured", "unchanged": "unchanged"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--filename", action="append", required=True, metavar="FILE",
                        help="manifest file, directory of *.yaml/*.yml/*.json, or - for stdin")
    add_client_arguments(parser)


def local_problems(obj: Obj) -> list[str]:
    """What the server would refuse, found without it: unknown fields, then validation."""
    from berth.api.decode import unknown_fields

    unknown = unknown_fields(obj)
    if not unknown:
        return []
    lines = [f"{err.message()}{_hint(obj, err)}" for err in unknown]
    errors = _validation_errors(_without(obj, [e.field for e in unknown]))
    if errors:
        from berth.api.errors import invalid

        meta = obj.get("metadata") or {}
        lines.append(describe_invalid(invalid(str(obj.get("kind")), str(meta.get("name", "")),
                                              errors)))
    return lines


def _hint(obj: Obj, err: FieldError) -> str:
    from berth.api.decode import suggest_field

    if err.type != UNKNOWN:
        return ""
    guess = suggest_field(err.field, obj)
    return f'; did you mean "{guess}"?' if guess else ""


def _validation_errors(obj: Obj) -> list[FieldError]:
    from berth.api.defaults import apply_defaults
    from berth.api.validation import validate

    candidate = copy.deepcopy(obj)
    try:
        apply_defaults(candidate)
        return list(validate(candidate))
    except (ValueError, TypeError, KeyError, AttributeError):  # the server will say it better
        return []


def _without(obj: Obj, paths: list[str]) -> Obj:
    """A copy of ``obj`` without the fields at the dotted ``paths`` (list indexes allowed)."""
    import re

    out = copy.deepcopy(obj)
    for path in paths:
        steps: list[Any] = []
        for part in path.split("."):
            name, *indexes = re.split(r"\[(\d+)\]", part)
            steps.append(name)
            steps.extend(int(i) for i in indexes if i)
        node: Any = out
        for step in steps[:-1]:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        if isinstance(node, dict):
            node.pop(steps[-1], None)
    return out


async def apply_document(client: Client, doc: Document, namespace: str,
                         explicit_ns: str | None = None) -> tuple[bool, str]:
    """Apply one document: (succeeded, the line to print); ``explicit_ns`` is ``-n``'s value."""
    from berth.api.apply import plan_apply

    if doc.obj is None:
        return False, f"error: {doc.where}: {doc.error}"
    obj = copy.deepcopy(doc.obj)
    res = for_object(obj)
    if res is None:
        return False, (f'error: {doc.where}: no matches for kind "{obj.get("kind")}" '
                       f'in version "{obj.get("apiVersion")}"')
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict) or not meta.get("name"):
        return False, f"error: {doc.where}: metadata.name: Required value"
    problems = local_problems(obj)
    if problems:
        return False, "\n".join(f"error: {doc.where}: {p}" if i == 0 else p
                                for i, p in enumerate(problems))
    if res.namespaced:
        if explicit_ns and meta.get("namespace") not in (None, explicit_ns):
            return False, (f'error: {doc.where}: the namespace from the provided object '
                           f'"{meta["namespace"]}" does not match the namespace "{explicit_ns}". '
                           f"You must pass '--namespace={meta['namespace']}' to perform this "
                           "operation.")
        meta.setdefault("namespace", namespace)
    else:
        meta.pop("namespace", None)
    ns = meta.get("namespace") if res.namespaced else None
    name = str(meta["name"])
    try:
        try:
            live: Obj | None = await client.get(res, ns, name)
        except NotFound:
            live = None
        plan = plan_apply(obj, live)
        if plan.action == "create":
            await client.create(res, plan.body, ns)
        elif plan.action == "patch":
            await client.patch(res, ns, name, plan.body)
    except APIError as exc:
        return False, describe_error(exc)
    return True, f"{kind_label(res)}/{name} {PAST[plan.action]}"


async def apply_all(args: argparse.Namespace) -> int:
    from berth.cli.manifests import load_documents

    docs = load_documents(args.filename)
    config = load_cluster(args)
    namespace = namespace_of(args, config)
    failed = False
    async with connect(config) as client:
        for doc in docs:
            ok, line = await apply_document(client, doc, namespace, args.namespace)
            print(line, file=sys.stdout if ok else sys.stderr, flush=True)
            failed = failed or not ok
    return 1 if failed else 0


def main(args: argparse.Namespace) -> int:
    return run(lambda: apply_all(args))
