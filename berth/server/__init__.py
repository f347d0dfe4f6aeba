"""berth's Kubernetes-compatible API server.

`start_server(ServerConfig(...))` starts the API (store, admission, TLS) and
returns a handle; `berth server` runs it inside the server process that
`berth.daemon.server` assembles (with the controllers and the join service);
`create_app(store, authenticator, admission=...)` builds the bare aiohttp
application. docs/api-server.md describes the behaviour and the node-agent
contract for logs and exec.
"""

from berth.server.app import create_app
from berth.server.auth import Authenticator, UserInfo
from berth.server.config import ServerConfig
from berth.server.run import RunningServer, start_server

__all__ = ["Authenticator", "RunningServer", "ServerConfig", "UserInfo", "create_app",
           "start_server"]
