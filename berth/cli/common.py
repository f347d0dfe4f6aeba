"""What every API verb of the CLI shares: the client, the namespace, the kinds.

``connect(args)`` reads the kubeconfig that ``--kubeconfig`` / ``KUBECONFIG`` /
``$BERTH_HOME`` point at and opens a ``Client``; ``namespace_of(args, config)``
picks ``-n`` or the context's namespace; ``resolve_kinds`` turns
``pods,svc`` into ``Resource`` values with kubectl's wording when a name is
unknown; ``run`` drives an async command to its exit code. Heavy modules
(aiohttp, yaml) are imported only inside these functions so that ``berth
--help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from berth.api.resources import Resource, resolve
from berth.cli.errors import UsageError

if TYPE_CHECKING:
    from berth.client import Client, ClusterConfig

Obj = dict[str, Any]


def add_client_arguments(parser: argparse.ArgumentParser, *, namespaced: bool = True) -> None:
    """``--kubeconfig``, ``--context`` and (for namespaced verbs) ``-n``."""
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, "
                        "else $BERTH_HOME/kubeconfig, BERTH_HOME defaulting to ~/.berth)")
    parser.add_argument("--context", help="kubeconfig context to use")
    if namespaced:
        parser.add_argument("-n", "--namespace",
                            help="namespace (default: the context's, else 'default')")


def load_cluster(args: argparse.Namespace) -> ClusterConfig:
    from berth.client import load_config

    return load_config(getattr(args, "kubeconfig", None), os.environ,
                       getattr(args, "context", None))


def connect(config: ClusterConfig) -> Client:
    from berth.client import Client

    return Client(config)


def namespace_of(args: argparse.Namespace, config: ClusterConfig) -> str:
    return getattr(args, "namespace", None) or config.namespace or "default"


def resolve_kind(name: str) -> Resource:
    """The resource a CLI name means; kubectl's message when there is none."""
    res = resolve(name)
    if res is None:
        raise UsageError(f'the server doesn\'t have a resource type "{name}"')
    return res


def resolve_kinds(text: str) -> list[Resource]:
    """``pods,svc`` -> [pods, services], keeping order, without repeats."""
    out: list[Resource] = []
    for part in text.split(","):
        if not part:
            raise UsageError(f'"{text}": empty resource type')
        res = resolve_kind(part)
        if res not in out:
            out.append(res)
    return out


def split_targets(words: list[str]) -> list[tuple[Resource, list[str]]]:
    """``KIND[,KIND] [NAME...]`` or ``KIND/NAME ...`` -> [(resource, names)]."""
    if not words:
        raise UsageError("you must specify the type of resource, e.g. `pods`")
    if all("/" in w for w in words):
        grouped: dict[Resource, list[str]] = {}
        for word in words:
            kind, _, name = word.partition("/")
            if not name:
                raise UsageError(f'"{word}": expected KIND/NAME')
            grouped.setdefault(resolve_kind(kind), []).append(name)
        return list(grouped.items())
    if any("/" in w for w in words):
        raise UsageError("there is no need to specify a resource type as a separate argument "
                         "when passing arguments in resource/name form")
    kinds = resolve_kinds(words[0])
    names = words[1:]
    if names and len(kinds) > 1:
        raise UsageError("names can only be given with one resource type")
    return [(res, names) for res in kinds]


def kind_label(res: Resource) -> str:
    """``pod``, ``daemonset.apps``: how kubectl prefixes ``-o name`` and messages."""
    return f"{res.kind.lower()}.{res.group}" if res.group else res.kind.lower()


def run(command: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run an async command; Ctrl-C ends it quietly with 130."""
    import asyncio

    try:
        return asyncio.run(command())
    except KeyboardInterrupt:
        return 130
