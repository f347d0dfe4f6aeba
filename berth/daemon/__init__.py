"""berth.daemon: where processes are put together, and the only place that knows all services.

The services a process runs (the API server and its controllers; the kubelet
role, network agent, Service proxy, cluster DNS and CNI fast path of a node)
know nothing of each other.  ``daemon.server`` assembles a server process
from a ``ServerProcessConfig``, ``daemon.node`` a node process from a
``NodeProcessConfig``; ``berth.cli`` only turns flags into those configs, and
``berth.cluster`` starts the processes by their command lines.
"""
