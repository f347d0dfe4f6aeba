"""The manifests ``berth demo`` applies, as YAML text (data only; see ``berth.cli.demo``).

Everything runs the built-in busybox image, so the demo works offline.  The
app + log-sidecar pod is ``examples/app-with-sidecar.yaml``'s, embedded so an
installed berth has it too.
"""

from __future__ import annotations

SEED_MANIFEST = """\
# This is a Comment
# Below is the structure of writing a yaml file for pods

apiVersion: v1
kind: Pod
metadata:
  name: pod_name
  labels:
    app: label_tag
    type: front-end
spec:
  container:
    - name: nginx-container
      image: nginx
"""

# The seed's pod, corrected (name, containers); busybox's httpd stands in for nginx offline.
FIXED_MANIFEST = """\
apiVersion: v1
kind: Pod
metadata:
  name: pod-name
  labels:
    app: label_tag
    type: front-end
spec:
  containers:
    - name: nginx-container
      image: busybox
      command: ["httpd", "-f", "-p", "80"]
"""

APP_WITH_SIDECAR = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
    - name: logs
      emptyDir: {}
  containers:
    - name: app
      image: busybox
      command: ["sh", "-c", "mkdir -p /www; echo hello from $(hostname) > /www/index.html;
                httpd -f -v -p 80 -h /www 2>&1 | tee /var/log/app/access.log"]
      ports: [{containerPort: 80, name: http}]
      volumeMounts: [{name: logs, mountPath: /var/log/app}]
    - name: log-sidecar
      image: busybox
      command: ["sh", "-c", "while true; do wget -qO- http://localhost:80/ >/dev/null;
                tail -n1 /var/log/app/access.log; sleep 2; done"]
      volumeMounts: [{name: logs, mountPath: /var/log/app, readOnly: true}]
"""


def port80_pod(name: str, node: str) -> str:
    """A pod on ``node`` whose httpd listens on port 80, logging each client (-v)."""
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{demo: port80}}
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
    - name: httpd
      image: busybox
      command: ["sh", "-c", "mkdir -p /www; echo $(hostname) > /www/index.html;
                httpd -p 80 -h /www -f -v & echo $! > /tmp/httpd.pid; wait"]
"""


HELLO_DAEMONSET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: hello
spec:
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: hello
          image: busybox
          command: ["sh", "-c", "mkdir -p /www; echo $(hostname) > /www/index.html;
                    exec httpd -f -p 8080 -h /www"]
          ports: [{containerPort: 8080, name: http}]
"""
