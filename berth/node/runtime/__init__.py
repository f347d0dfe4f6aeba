"""The container runtime under the node agent: a CRI-shaped RuntimeService.

``protocol`` defines the service and its dataclasses; ``oci`` implements it
on OCI bundles run by runc (or crun), with pause sandboxes and per-container
monitors; ``spec`` plans the OCI specs; ``state`` persists what a restarted
agent needs.
"""

from berth.node.runtime.errors import RuntimeServiceError
from berth.node.runtime.oci import LoopbackOnly, OCIRuntimeService
from berth.node.runtime.protocol import RuntimeService

__all__ = ["LoopbackOnly", "OCIRuntimeService", "RuntimeService", "RuntimeServiceError"]
