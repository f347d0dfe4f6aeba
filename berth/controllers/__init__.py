"""berth.controllers: the control loops that run inside `berth server`.

- `scheduler`: binds pending pods to nodes (`scheduling` holds the pure filters
  and scoring);
- `nodeipam`: gives each Node a pod subnet of the cluster CIDR (`cidrs`, pure);
- `daemonset`: one pod per matching node (`daemonset_plan`, pure);
- `endpointslices`: EndpointSlices and Endpoints of every Service with a selector
  (`endpoints_plan`, pure);
- `allocators`: Service ClusterIPs and NodePorts, called by the API server's write
  path (`claims` in the store, `ranges` pure);
- `loop`: the reconcile loop they share, over `berth.client.informer` caches;
- `manager`: starts and stops them; `config`: the address plan; `errors`.

docs/controllers.md describes the behaviour.
"""

from berth.controllers.config import ControllerConfig
from berth.controllers.errors import ControllerConfigError, ControllerError
from berth.controllers.manager import (
    ALL_CONTROLLERS,
    ControllerManager,
    start_controllers,
    start_for_server,
)

__all__ = ["ALL_CONTROLLERS", "ControllerConfig", "ControllerConfigError", "ControllerError",
           "ControllerManager", "start_controllers", "start_for_server"]
