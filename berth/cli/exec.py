"""``berth exec POD [-c C] [-i] [-t] -- CMD...``: run a command in a container.

Opens ``pods/{name}/exec`` on the API server as a WebSocket
(``v5.channel.k8s.io``, falling back to v4), sends stdin on channel 0 when
``-i`` (and a close frame on EOF), writes channels 1 and 2 to stdout and
stderr, and exits with the command's exit code from the status on channel 3.

``-it`` with stdin on a terminal asks for a terminal in the container
(``tty=true``): ``raw_terminal`` puts the local one in raw mode for the
session and restores it on the way out (errors included), the local size is
sent on channel 4 at the start and on every SIGWINCH, and keystrokes
(Ctrl-C included) go to the remote terminal.  ``plan_tty`` decides, as
kubectl does: ``-t`` without ``-i`` means no terminal, and ``-t`` with stdin
that is not a terminal warns and goes on without one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from berth.cli.common import add_client_arguments


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--container", help="container (default: the only one)")
    parser.add_argument("-i", "--stdin", action="store_true", help="pass stdin")
    parser.add_argument("-t", "--tty", action="store_true", help="allocate a terminal (with -i)")
    add_client_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pod", help="pod name (or pod/NAME)")
    _add_options(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")


def split_command(args: argparse.Namespace) -> list[str]:
    """Options written after POD (``POD -c C -- CMD``) are parsed here; returns CMD."""
    words = list(args.command)
    if "--" not in words:
        return words
    at = words.index("--")
    if at:
        late = argparse.ArgumentParser(prog="berth exec", add_help=False)
        _add_options(late)
        parsed = late.parse_args(words[:at])
        for key, value in vars(parsed).items():
            if value not in (None, False):
                setattr(args, key, value)
    return words[at + 1:]


def exit_code_of(status: dict[str, object]) -> int:
    """The command's exit code from the channel-3 Status (1 when it says only Failure)."""
    if status.get("status") == "Success":
        return 0
    details = status.get("details") or {}
    for cause in details.get("causes") or [] if isinstance(details, dict) else []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", "1"))
            except ValueError:
                return 1
    return 1


NO_TTY_WARNING = "Unable to use a TTY - input is not a terminal or the right kind of file"


def plan_tty(tty: bool, stdin: bool, stdin_is_terminal: bool, warn: TextIO) -> bool:
    """Whether to ask for a remote terminal, as kubectl decides (and warns)."""
    if not (tty and stdin):
        return False
    if not stdin_is_terminal:
        print(NO_TTY_WARNING, file=warn)
        return False
    return True


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """The terminal on ``fd`` in raw mode for the block; its settings restored after."""
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size_message() -> bytes:
    """The channel-4 resize message for the local terminal's current size."""
    import json

    fd = sys.stdout.fileno() if sys.stdout.isatty() else sys.stdin.fileno()
    size = os.get_terminal_size(fd)
    return b"\x04" + json.dumps({"Width": size.columns, "Height": size.lines}).encode()


def main(args: argparse.Namespace) -> int:
    from berth.cli.common import load_cluster, namespace_of, run
    from berth.cli.errors import UsageError

    command_words = split_command(args)
    if not command_words:
        raise UsageError("you must specify at least one command for the container")
    use_tty = plan_tty(args.tty, args.stdin, sys.stdin.isatty(), sys.stderr)

    async def command() -> int:
        import aiohttp

        from berth.api.errors import error_from_status
        from berth.api.resources import by_key
        from berth.client.errors import ConnectionFailed
        from berth.client.http import resource_path, ssl_context

        config = load_cluster(args)
        pods = by_key("pods")
        assert pods is not None
        name = args.pod.split("/", 1)[1] if args.pod.startswith(("pod/", "pods/")) else args.pod
        url = config.server + resource_path(pods, namespace_of(args, config), name, "exec")
        params = [("command", w) for w in command_words] + [
            ("stdout", "true"), ("stderr", "false" if use_tty else "true"),
            ("stdin", "true" if args.stdin else "false"), ("tty", "true" if use_tty else "false")]
        if args.container:
            params.append(("container", args.container))
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        try:
            async with aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(ssl=ssl_context(config))) as session:
                try:
                    ws = await session.ws_connect(
                        url, params=params, headers=headers,
                        protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"))
                except aiohttp.WSServerHandshakeError as exc:
                    raise error_from_status({"code": exc.status, "message": exc.message}
                                            ) from exc
                terminal = raw_terminal(sys.stdin.fileno()) if use_tty else \
                    contextlib.nullcontext()
                with terminal:
                    code = await _session(ws, args.stdin, use_tty)
                await ws.close()
        except aiohttp.ClientError as exc:
            raise ConnectionFailed(config.server, str(exc)) from exc
        return code

    return run(command)


async def _session(ws: Any, stdin: bool, use_tty: bool) -> int:
    """Relay the WebSocket to the local terminal/streams; the command's exit code."""
    import asyncio
    import json
    import signal

    import aiohttp

    loop = asyncio.get_running_loop()
    feeder = asyncio.create_task(_feed_stdin(ws)) if stdin else None
    if use_tty:
        await ws.send_bytes(terminal_size_message())
        loop.add_signal_handler(signal.SIGWINCH, lambda: asyncio.ensure_future(
            ws.send_bytes(terminal_size_message())))
    code = 1
    try:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
                continue
            channel, payload = msg.data[0], msg.data[1:]
            if channel in (1, 2):
                out = sys.stdout if channel == 1 else sys.stderr
                out.buffer.write(payload)
                out.buffer.flush()
            elif channel == 3:
                status = json.loads(payload or b"{}")
                code = exit_code_of(status)
                if code and not _is_exit(status):
                    print(f"error: {status.get('message', 'exec failed')}", file=sys.stderr)
    finally:
        if use_tty:
            loop.remove_signal_handler(signal.SIGWINCH)
        if feeder is not None:
            feeder.cancel()
    return code


def _is_exit(status: dict[str, object]) -> bool:
    return status.get("reason") == "NonZeroExitCode"


async def _feed_stdin(ws: Any) -> None:
    """Stdin to channel 0 until EOF, then the v5 close frame for stdin.

    Terminals and pipes are read when the loop says they are readable (nothing
    is left blocked in a thread when the command ends); regular files, which
    the loop cannot watch, are read on a thread.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
        chunks.put_nowait(data)

    try:
        loop.add_reader(fd, readable)
        watched = True
    except (PermissionError, ValueError, OSError):
        watched = False
    try:
        while True:
            data = await chunks.get() if watched else \
                await loop.run_in_executor(None, os.read, fd, 65536)
            if not data:
                await ws.send_bytes(b"\xff\x00")
                return
            await ws.send_bytes(b"\x00" + data)
    finally:
        if watched:
            loop.remove_reader(fd)
