"""``berth logs POD [-c C] [-f] [--previous]``: a container's logs through the API server.

Asks ``pods/{name}/log`` (the API server forwards it to the node agent) and
copies the text to stdout as it arrives, so ``-f`` follows until the
container ends or Ctrl-C.  Errors are the server's Status, as kubectl prints.
"""

from __future__ import annotations

import argparse

from berth.cli.common import add_client_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pod", help="pod name (or pod/NAME)")
    parser.add_argument("-c", "--container", help="container (default: the only one)")
    parser.add_argument("-f", "--follow", action="store_true", help="stream new lines")
    parser.add_argument("-p", "--previous", action="store_true",
                        help="the previous (terminated) instance of the container")
    parser.add_argument("--tail", type=int, default=-1, help="only the last N lines")
    parser.add_argument("--timestamps", action="store_true", help="prefix RFC 3339 times")
    add_client_arguments(parser)


def build_params(args: argparse.Namespace) -> dict[str, str]:
    params: dict[str, str] = {}
    if args.container:
        params["container"] = args.container
    for flag in ("follow", "previous", "timestamps"):
        if getattr(args, flag):
            params[flag] = "true"
    if args.tail >= 0:
        params["tailLines"] = str(args.tail)
    return params


def main(args: argparse.Namespace) -> int:
    from berth.cli.common import load_cluster, namespace_of, run

    async def command() -> int:
        import sys

        import aiohttp

        from berth.api.resources import by_key
        from berth.client.errors import ConnectionFailed
        from berth.client.http import _error, resource_path, ssl_context

        config = load_cluster(args)
        pods = by_key("pods")
        assert pods is not None
        name = args.pod.split("/", 1)[1] if args.pod.startswith(("pod/", "pods/")) else args.pod
        url = config.server + resource_path(pods, namespace_of(args, config), name, "log")
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        try:
            async with aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(ssl=ssl_context(config)),
                    timeout=timeout) as session, session.get(
                    url, params=build_params(args), headers=headers) as resp:
                if resp.status >= 400:
                    raise _error(resp.status, await resp.read())
                async for chunk in resp.content.iter_any():
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.buffer.flush()
        except aiohttp.ClientError as exc:
            raise ConnectionFailed(config.server, str(exc)) from exc
        return 0

    return run(command)
