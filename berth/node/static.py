"""Static pods: Pod manifests in ``--pod-manifest-path`` that the agent runs by itself.

``StaticPods`` rescans the directory (``*.yaml``, ``*.yml``, ``*.json``) and
turns each Pod into what the kubelet runs: name ``<name>-<node>``,
``spec.nodeName`` set, defaults applied, a uid derived from the file's
content (an edited file is a new pod; an unchanged one keeps its uid across
agent restarts, so its containers are adopted, not duplicated).  A file that
does not decode or validate is logged with its name and skipped.
``ensure_mirror_pods`` creates the read-only mirror Pod in the API server
(annotated ``kubernetes.io/config.mirror``) so users see the static pod.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
from pathlib import Path
from typing import Any

from berth.api.decode import decode_json, decode_yaml, unknown_fields
from berth.api.defaults import apply_defaults
from berth.api.errors import AlreadyExists, APIError
from berth.api.validation import validate
from berth.client import Client, ClientError
from berth.node import podspec
from berth.node.context import PODS

Obj = dict[str, Any]
log = logging.getLogger("berth.node")
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SOURCE_ANNOTATION = "kubernetes.io/config.source"
SUFFIXES = (".yaml", ".yml", ".json")


def load_manifest(path: Path, node_name: str) -> Obj:
    """One static pod from a file; ValueError with the file's name when it is not usable."""
    data = path.read_bytes()
    docs = decode_json(data, str(path)) if path.suffix == ".json" else decode_yaml(data,
                                                                                  str(path))
    if len(docs) != 1 or docs[0].get("kind") != "Pod":
        raise ValueError(f"{path}: expected exactly one Pod")
    pod = docs[0]
    problems = unknown_fields(pod)
    m = pod.setdefault("metadata", {})
    m["name"] = f"{m.get('name', path.stem)}-{node_name}"
    m.setdefault("namespace", "default")
    digest = hashlib.sha256(data + node_name.encode()).hexdigest()
    m["uid"] = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    annotations = m.setdefault("annotations", {})
    annotations[SOURCE_ANNOTATION] = "file"
    annotations["kubernetes.io/config.hash"] = digest[:32]
    pod.setdefault("spec", {})["nodeName"] = node_name
    apply_defaults(pod)
    problems += validate(pod)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(str(p) for p in problems))
    pod["status"] = {"phase": "Pending"}
    return pod


class StaticPods:
    def __init__(self, directory: Path, node_name: str) -> None:
        self.directory, self.node_name = directory, node_name
        self.pods: dict[str, Obj] = {}  # uid -> pod
        self._removed: set[str] = set()
        self._errors: dict[Path, str] = {}
        self._mirrored: set[str] = set()  # uids whose mirror pod exists

    def uids(self) -> set[str]:
        return set(self.pods)

    def scan(self) -> dict[str, Obj]:
        found: dict[str, Obj] = {}
        for path in sorted(self.directory.glob("*")):
            if path.suffix not in SUFFIXES or path.name.startswith("."):
                continue
            try:
                pod = load_manifest(path, self.node_name)
            except (ValueError, APIError, OSError) as exc:
                if self._errors.get(path) != str(exc):
                    log.error("static pod %s skipped: %s", path, exc)
                    self._errors[path] = str(exc)
                continue
            self._errors.pop(path, None)
            found[podspec.meta(pod)["uid"]] = pod
        return found

    def changed_pods(self, found: dict[str, Obj] | None = None) -> list[Obj]:
        """Pods new since the last scan (and records the ones that went away).

        ``found`` is a ``scan()`` result; on an event loop, scan through
        ``asyncio.to_thread`` (it reads the directory) and pass it here.
        """
        found = self.scan() if found is None else found
        new = [p for uid, p in found.items() if uid not in self.pods]
        self._removed |= set(self.pods) - set(found)
        self.pods = found
        return new

    def removed_uids(self) -> list[str]:
        gone, self._removed = sorted(self._removed), set()
        return gone

    def forget_mirror(self, name: str) -> None:
        """The mirror pod named ``name`` was deleted: create it again on the next tick."""
        self._mirrored = {u for u in self._mirrored
                          if podspec.meta(self.pods.get(u, {})).get("name") != name}

    async def ensure_mirror_pods(self, client: Client) -> None:
        assert PODS is not None
        for uid, pod in self.pods.items():
            if uid in self._mirrored:
                continue
            mirror = copy.deepcopy(pod)
            m = mirror["metadata"]
            m["annotations"][MIRROR_ANNOTATION] = m["annotations"]["kubernetes.io/config.hash"]
            for key in ("uid", "resourceVersion"):
                m.pop(key, None)
            mirror.pop("status", None)
            with contextlib.suppress(APIError, ClientError):
                with contextlib.suppress(AlreadyExists):
                    await client.create(PODS, mirror)
                self._mirrored.add(uid)
