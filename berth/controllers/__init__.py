"""berth.controllers: the control loops that run inside `berth server`.

- `scheduler`: binds pending pods to nodes (`scheduling` holds the pure filters
  and scoring);
- `nodeipam`: gives each Node a pod subnet of the cluster CIDR (`cidrs`, pure);
- `daemonset`: one pod per matching node (`daemonset_plan`, pure);
- `endpointslices`: EndpointSlices and Endpoints of every Service with a selector
  (`endpoints_plan`, pure);
- `loop`: the reconcile loop they share, over `berth.client.informer` caches;
- `manager`: starts and stops them (with the cluster's address plan,
  `berth.api.addressplan`); `errors`.

Service ClusterIP and NodePort allocation is not here: it runs in the API
server's write path, on the server's own store (`berth.server.admission`).

docs/controllers.md describes the behaviour.
"""

from berth.controllers.errors import ControllerError
from berth.controllers.manager import (
    ALL_CONTROLLERS,
    ControllerManager,
    start_controllers,
    start_for_server,
)

__all__ = ["ALL_CONTROLLERS", "ControllerError",
           "ControllerManager", "start_controllers", "start_for_server"]
