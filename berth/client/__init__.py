"""berth.client: the only code that talks to the API server over HTTP.

``load_config`` finds and reads the kubeconfig (``kubeconfig``), ``Client``
sends the REST verbs and raises the server's errors as ``berth.api.errors``
types (``http``), and ``errors`` holds what can fail before the server answers.
"""

from berth.client.errors import ClientError, ConnectionFailed, KubeconfigError
from berth.client.http import Client, resource_path
from berth.client.kubeconfig import ClusterConfig, kubeconfig_paths, load_config

__all__ = [
    "Client",
    "ClientError",
    "ClusterConfig",
    "ConnectionFailed",
    "KubeconfigError",
    "kubeconfig_paths",
    "load_config",
    "resource_path",
]
