"""The labels berth puts on runtime objects, so a restarted agent can find its pods again.

Keys follow the kubelet's (``io.kubernetes.pod.uid`` ...).  Every sandbox
carries its pod's namespace, name and uid; every container also its name and
kind (init, sidecar, app).  The restart count is the container's CRI
``attempt``.
"""

from __future__ import annotations

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_KIND = "berth.io/container-kind"
STATIC_SOURCE = "berth.io/static-pod"

KIND_INIT = "init"
KIND_SIDECAR = "sidecar"
KIND_APP = "app"


def pod_labels(namespace: str, name: str, uid: str) -> dict[str, str]:
    return {POD_NAMESPACE: namespace, POD_NAME: name, POD_UID: uid}
