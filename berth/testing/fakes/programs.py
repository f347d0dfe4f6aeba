"""What a fake container does: a `Program`, read from its command line or set by a test.

Pods in tests say what their containers do the way real pods do, with
busybox idioms: ``sh -c "exit 3"``, ``sleep 1000``, ``sh -c "sleep 2; exit
1"``, ``sh -c "trap 'exit 0' TERM; while true; do sleep 1; done"``.
`interpret` understands exactly those idioms (``exit``, ``sleep``,
``true``/``false``/``:``, ``echo``, ``trap '... exit K' TERM``, ``exec``)
and treats anything else as a process that runs until it is stopped, so
the same container configs behave alike on the fake and on real runc (the
runtime contract suite relies on it). A test that wants something the
idioms cannot say sets a `Program` for a container name instead.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace

#: Applets of the built-in busybox image; another command name there fails at create.
BUSYBOX_APPLETS = frozenset({
    "sh", "ash", "cat", "echo", "env", "false", "hostname", "httpd", "id", "ls", "mkdir", "nc",
    "nslookup", "ping", "printf", "ps", "pwd", "rm", "seq", "sleep", "tail", "test", "timeout",
    "top", "touch", "tr", "true", "wc", "wget", "head", "grep", "sed", "awk", "date", "kill",
    "mount", "umount", "dd", "yes"})


@dataclass(frozen=True)
class Program:
    """A fake process: how long it runs by itself and how it answers signals.

    ``runs_for`` None means until stopped. ``on_term`` is the exit code of
    its SIGTERM handler; None means it ignores SIGTERM (a shell or ``sleep``
    as PID 1 does) and dies only by SIGKILL, exit code 137.
    """

    runs_for: float | None = None
    exit_code: int = 0
    on_term: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    understood: bool = True  # False: the command line was not one of the known idioms


def _split_statements(script: str) -> list[str]:
    """``a; b && c`` -> [a, b, c], keeping quoted separators inside their statement."""
    out, current, quote = [], "", ""
    i = 0
    while i < len(script):
        ch = script[i]
        if quote:
            quote = "" if ch == quote else quote
            current += ch
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch in ";\n" or script.startswith("&&", i):
            out.append(current.strip())
            current = ""
            i += 1 if ch != "&" else 2
            continue
        else:
            current += ch
        i += 1
    out.append(current.strip())
    return [s for s in out if s]


def _trap_code(action: str) -> int:
    for statement in _split_statements(action):
        words = statement.split()
        if words and words[0] == "exit":
            return int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
    return 0


def _script(script: str) -> Program:
    elapsed, code, on_term = 0.0, 0, None
    stdout, stderr = b"", b""
    for statement in _split_statements(script):
        try:
            words = shlex.split(statement)
        except ValueError:
            words = []
        if not words:
            continue
        head = words[0]
        if head == "exit":
            code = int(words[1]) if len(words) > 1 and words[1].isdigit() else code
            return Program(elapsed, code, on_term, stdout, stderr)
        if head == "sleep" and len(words) == 2 and _is_number(words[1]):
            elapsed, code = elapsed + float(words[1]), 0
        elif head in ("true", ":"):
            code = 0
        elif head == "false":
            code = 1
        elif head == "echo":
            text, to_err = _echo(words[1:])
            if to_err:
                stderr += text
            else:
                stdout += text
            code = 0
        elif head == "trap" and len(words) >= 3 and "TERM" in words[2:]:
            on_term = _trap_code(words[1])
        elif head == "exec":
            rest = interpret(words[1:])
            return replace(rest, runs_for=None if rest.runs_for is None
                           else elapsed + rest.runs_for, on_term=rest.on_term,
                           stdout=stdout + rest.stdout, stderr=stderr + rest.stderr)
        else:  # a loop, a server, anything else: runs until stopped
            return Program(None, 0, on_term, stdout, stderr, understood=False)
    return Program(elapsed, code, on_term, stdout, stderr)


def _echo(words: list[str]) -> tuple[bytes, bool]:
    to_err = ">&2" in words
    kept = [w for w in words if w not in (">&2", "1>&2")]
    if ">>" in kept or ">" in kept:  # written to a file: no output
        return b"", to_err
    return (" ".join(kept) + "\n").encode(), to_err


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def interpret(argv: list[str]) -> Program:
    """The `Program` a command line runs, as far as the known idioms go."""
    if not argv:
        return Program(0.0, 0)
    head, rest = argv[0].rsplit("/", 1)[-1], argv[1:]
    if head in ("sh", "ash"):
        if len(rest) >= 2 and rest[0] == "-c":
            return _script(rest[1])
        if not rest:
            return Program(0.0, 0)  # no stdin: the shell reads EOF and exits
    if head == "sleep" and len(rest) == 1 and _is_number(rest[0]):
        return Program(float(rest[0]), 0)
    if head in ("true", ":"):
        return Program(0.0, 0)
    if head == "false":
        return Program(0.0, 1)
    if head == "echo":
        return Program(0.0, 0, stdout=_echo(rest)[0])
    return Program(None, 0, understood=False)
