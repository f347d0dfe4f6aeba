"""The seed document's example Pod (section 8) gives both of its mistakes, as kubectl would."""

from __future__ import annotations

from berth.api.decode import decode_yaml, suggest_field, unknown_fields
from berth.api.defaults import apply_defaults
from berth.api.errors import invalid
from berth.api.validation import validate

# Section 8 of the seed, verbatim (comments included).
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


def test_seed_manifest_unknown_field_with_suggestion() -> None:
    [pod] = decode_yaml(SEED_MANIFEST, "pod.yaml")
    [unknown] = unknown_fields(pod)
    assert unknown.message() == 'unknown field "spec.container"'
    assert suggest_field(unknown.field, pod) == "spec.containers"


def test_seed_manifest_validation_errors() -> None:
    [pod] = decode_yaml(SEED_MANIFEST, "pod.yaml")
    del pod["spec"]["container"]
    apply_defaults(pod)
    errs = validate(pod)
    assert [(e.type, e.field) for e in errs] == [("FieldValueInvalid", "metadata.name"),
                                                ("FieldValueRequired", "spec.containers")]
    message = invalid("Pod", "pod_name", errs).message
    assert message.startswith('Pod "pod_name" is invalid: [metadata.name: Invalid value: '
                              '"pod_name": a lowercase RFC 1123 subdomain must consist of')
    assert message.endswith(", spec.containers: Required value]")


def test_corrected_seed_manifest_is_valid() -> None:
    fixed = SEED_MANIFEST.replace("pod_name", "pod-name").replace("container:", "containers:")
    [pod] = decode_yaml(fixed, "pod.yaml")
    assert unknown_fields(pod) == []
    apply_defaults(pod)
    assert validate(pod) == []
