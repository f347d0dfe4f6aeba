"""The seed document's example Pod (section 8) gives both of its mistakes, as kubectl would."""

from __future__ import annotations

from berth.api.decode import decode_yaml, suggest_field, unknown_fields
from berth.api.defaults import apply_defaults
from berth.api.errors import invalid
from berth.api.validation import validate
from tests.seed import SEED_MANIFEST


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


def test_the_demo_shows_the_seed_manifest_verbatim() -> None:
    from berth.cli.demo_manifests import SEED_MANIFEST as demo_copy

    assert demo_copy.strip() == SEED_MANIFEST.strip()
