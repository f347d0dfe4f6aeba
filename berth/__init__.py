"""berth: Kubernetes-style Pods and pod networking, for real, on Linux.

The package is layered so that imports go one way (see docs/architecture.md):

    cli  ->  server | node | netagent | proxy | cni.plugins
         ->  client | store | cni | host
         ->  api (pure objects, validation; no I/O)
"""

__version__ = "0.1.0"
