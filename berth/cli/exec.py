"""``berth exec POD [-c C] [-i] [-t] -- CMD...``: run a command in a container.

Opens ``pods/{name}/exec`` on the API server as a WebSocket
(``v5.channel.k8s.io``, falling back to v4), sends stdin on channel 0 when
``-i`` (and a close frame on EOF), writes channels 1 and 2 to stdout and
stderr, and exits with the command's exit code from the status on channel 3.
``-t`` is accepted for kubectl compatibility; berth's exec has no terminal yet.
"""

from __future__ import annotations

import argparse

from berth.cli.common import add_client_arguments


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--container", help="container (default: the only one)")
    parser.add_argument("-i", "--stdin", action="store_true", help="pass stdin")
    parser.add_argument("-t", "--tty", action="store_true", help="(accepted; no tty yet)")
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


def main(args: argparse.Namespace) -> int:
    from berth.cli.common import load_cluster, namespace_of, run
    from berth.cli.errors import UsageError

    command_words = split_command(args)
    if not command_words:
        raise UsageError("you must specify at least one command for the container")

    async def command() -> int:
        import asyncio
        import json
        import sys

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
            ("stdout", "true"), ("stderr", "true"), ("stdin", "true" if args.stdin else "false")]
        if args.container:
            params.append(("container", args.container))
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        code = 1
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
                feeder = asyncio.create_task(_feed_stdin(ws)) if args.stdin else None
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
                            print(f"error: {status.get('message', 'exec failed')}",
                                  file=sys.stderr)
                if feeder is not None:
                    feeder.cancel()
                await ws.close()
        except aiohttp.ClientError as exc:
            raise ConnectionFailed(config.server, str(exc)) from exc
        return code

    return run(command)


def _is_exit(status: dict[str, object]) -> bool:
    return status.get("reason") == "NonZeroExitCode"


async def _feed_stdin(ws: object) -> None:
    import asyncio
    import os
    import sys

    loop = asyncio.get_running_loop()
    while True:
        data = await loop.run_in_executor(None, os.read, sys.stdin.fileno(), 65536)
        if not data:
            await ws.send_bytes(b"\xff\x00")  # type: ignore[attr-defined]
            return
        await ws.send_bytes(b"\x00" + data)  # type: ignore[attr-defined]
