"""Reading ``-f FILE|DIR|-`` into documents, each decoded on its own.

``read_sources`` expands the arguments (a directory gives its ``*.yaml``,
``*.yml`` and ``*.json`` files, sorted; ``-`` is stdin) and
``split_documents`` cuts a YAML stream at its ``---`` lines, remembering on
which line each document starts. Each document is then decoded separately
(``load_documents``), padded so the decoder's line numbers are the file's,
so one broken document is reported with its file, index and line while the
others still go through. ``kind: List`` documents are expanded into their items.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from berth.cli.errors import ManifestError

Obj = dict[str, Any]
_SEPARATOR = re.compile(r"^---(\s.*)?$")
SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Document:
    """One object of a manifest, or why it could not be decoded."""

    source: str
    index: int  # 1-based position in its file
    obj: Obj | None = None
    error: str | None = None

    @property
    def where(self) -> str:
        return f"{self.source} (document {self.index})"


def read_sources(paths: Iterable[str], stdin: TextIO | None = None) -> list[tuple[str, str]]:
    """``(source name, text)`` of every file the ``-f`` arguments name, in order."""
    out: list[tuple[str, str]] = []
    for arg in paths:
        if arg == "-":
            out.append(("STDIN", (stdin or sys.stdin).read()))
            continue
        path = Path(arg)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if not files:
                raise ManifestError(f'error reading "{arg}": no *.yaml, *.yml or *.json files')
        elif path.exists():
            files = [path]
        else:
            raise ManifestError(f'the path "{arg}" does not exist')
        for file in files:
            try:
                out.append((str(file), file.read_text()))
            except (OSError, UnicodeDecodeError) as exc:
                raise ManifestError(f'error reading "{file}": {exc}') from None
    return out


def split_documents(text: str) -> list[tuple[int, str]]:
    """The documents of a YAML stream as ``(first line number - 1, text)``."""
    docs: list[tuple[int, str]] = []
    start = 0
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(keepends=True)):
        if _SEPARATOR.match(line.rstrip("\r\n")):
            docs.append((start, "".join(lines)))
            start, lines = number + 1, []
        else:
            lines.append(line)
    docs.append((start, "".join(lines)))
    return [(offset, body) for offset, body in docs if _has_content(body)]


def _has_content(body: str) -> bool:
    return any(ln.strip() and not ln.lstrip().startswith("#") for ln in body.splitlines())


def decode_source(source: str, text: str) -> list[Document]:
    """Decode each document of one file; failures become error documents."""
    from berth.api.decode import decode_json, decode_yaml
    from berth.api.errors import APIError

    docs: list[Document] = []
    chunks = [(0, text)] if source.endswith(".json") else split_documents(text)
    for index, (offset, body) in enumerate(chunks, start=1):
        try:
            if source.endswith(".json"):
                objs = list(decode_json(body, source))
            else:
                objs = decode_yaml("\n" * offset + body, source)
        except APIError as exc:
            docs.append(Document(source, index, error=exc.message))
            continue
        for obj in _expand(objs):
            if not isinstance(obj, dict):
                docs.append(Document(source, index, error="expected a mapping (an object)"))
            else:
                docs.append(Document(source, index, obj=obj))
    return docs


def _expand(objs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for obj in objs:
        if isinstance(obj, dict) and str(obj.get("kind", "")).endswith("List") and \
                isinstance(obj.get("items"), list):
            out.extend(obj["items"])
        elif obj is not None:
            out.append(obj)
    return out


def load_documents(paths: Iterable[str], stdin: TextIO | None = None) -> list[Document]:
    """Every document of every ``-f`` argument, decoded or with its error."""
    docs: list[Document] = []
    for source, text in read_sources(paths, stdin):
        docs.extend(decode_source(source, text))
    return docs
