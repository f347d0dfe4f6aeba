"""berth's Kubernetes-compatible API server.

`run_server(ServerConfig(...))` is what `berth server` runs; `start_server` returns a
handle for tests and embedding; `create_app(store, authenticator)` builds the bare
aiohttp application. docs/api-server.md describes the behaviour and the node-agent
contract for logs and exec.
"""

from berth.server.app import create_app
from berth.server.auth import Authenticator, UserInfo
from berth.server.config import ServerConfig
from berth.server.run import RunningServer, run_server, start_server

__all__ = ["Authenticator", "RunningServer", "ServerConfig", "UserInfo", "create_app",
           "run_server", "start_server"]
