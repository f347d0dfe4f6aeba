"""The layout of `berth describe`, from plain objects."""

from __future__ import annotations

from datetime import UTC, datetime

from berth.cli.describe_text import describe

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "fe"},
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
    "spec": {
        "nodeName": "node1",
        "containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80}],
                        "env": [{"name": "MODE", "value": "prod"}],
                        "volumeMounts": [{"name": "logs", "mountPath": "/var/log"}]}],
        "volumes": [{"name": "logs", "emptyDir": {}}],
    },
    "status": {
        "phase": "Running", "podIP": "10.244.1.7", "hostIP": "198.18.0.2",
        "podIPs": [{"ip": "10.244.1.7"}],
        "conditions": [{"type": "Ready", "status": "True"},
                       {"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "app", "ready": True, "restartCount": 2,
                               "state": {"running": {"startedAt": "2026-01-01T11:59:00Z"}},
                               "lastState": {"terminated": {"exitCode": 137,
                                                            "reason": "OOMKilled"}}}],
    },
}
EVENT = {"type": "Normal", "reason": "Scheduled", "message": "Successfully assigned default/web",
         "source": {"component": "default-scheduler"}, "lastTimestamp": "2026-01-01T11:58:00Z",
         "involvedObject": {"kind": "Pod", "name": "web"}}


def test_pod_description_shows_what_kubectl_shows() -> None:
    text = describe(POD, [EVENT], now=NOW)
    lines = text.splitlines()
    assert lines[0] == "Name:             web"
    assert "Labels:           app=web" in lines
    assert "                  tier=fe" in lines
    assert "Annotations:      <none>" in lines  # last-applied is hidden, as kubectl
    assert "Node:             node1/198.18.0.2" in lines
    assert "Status:           Running" in lines
    assert "  app:" in lines
    assert "    Port:           80/TCP" in lines
    assert "    State:          Running" in lines
    assert "    Last State:     Terminated" in lines
    assert "      Reason:       OOMKilled" in lines
    assert "    Restart Count:  2" in lines
    assert "      MODE:         prod" in lines
    assert "      /var/log from logs (rw)" in lines
    assert "  Ready         True" in lines
    assert "    Type:  EmptyDir" in lines
    assert "      Started:      2026-01-01T11:59:00Z" in lines
    assert lines[-4:-1] == [
        "Events:",
        "  Type    Reason     Age   From               Message",
        "  ----    ------     ----  ----               -------",
    ]
    assert lines[-1].split() == ["Normal", "Scheduled", "2m", "default-scheduler",
                                 "Successfully", "assigned", "default/web"]


def test_no_events_and_generic_kinds() -> None:
    svc = {"kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "ClusterIP", "ports": [{"port": 80}], "selector": {"app": "web"}}}
    text = describe(svc, [], now=NOW)
    assert text.splitlines()[-1] == "Events:  <none>"
    assert "Spec:" in text and "  type:" in text and "ClusterIP" in text
