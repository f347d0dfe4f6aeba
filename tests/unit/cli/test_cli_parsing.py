"""What the `berth` command line means, before any server is involved."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from berth.api.errors import INVALID, REQUIRED, FieldError, NotFound, Unauthorized, invalid
from berth.cli.common import kind_label, split_targets
from berth.cli.errors import ManifestError, UsageError
from berth.cli.main import build_parser, main
from berth.cli.manifests import load_documents, split_documents
from berth.cli.output import describe_error
from berth.cli.server import parse_listen
from tests.seed import SEED_MANIFEST as SEED


def test_get_flags() -> None:
    args = build_parser().parse_args(
        ["get", "pods,svc", "-o", "wide", "-A", "-l", "app=web", "--field-selector",
         "spec.nodeName=n1", "-w"])
    assert args.targets == ["pods,svc"]
    assert (args.output, args.all_namespaces, args.selector, args.field_selector, args.watch) == \
        ("wide", True, "app=web", "spec.nodeName=n1", True)


def test_bad_output_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["get", "pods", "-o", "xml"])
    assert info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_delete_defaults_wait_true_and_now_flag() -> None:
    args = build_parser().parse_args(["delete", "pod", "a", "b", "--now"])
    assert args.wait is True and args.now and args.targets == ["pod", "a", "b"]
    assert build_parser().parse_args(["delete", "pod", "a", "--wait=false"]).wait is False


def test_server_flags_and_listen_parsing() -> None:
    args = build_parser().parse_args(
        ["server", "--data-dir", "/tmp/d", "--datastore", "etcd://127.0.0.1:2379"])
    assert (args.data_dir, args.listen, args.datastore) == \
        ("/tmp/d", "127.0.0.1:6443", "etcd://127.0.0.1:2379")
    assert parse_listen("127.0.0.1:7443") == ("127.0.0.1", 7443)
    assert parse_listen("[::1]:6443") == ("::1", 6443)
    with pytest.raises(UsageError, match="--listen"):
        parse_listen("localhost")


def test_split_targets_forms() -> None:
    [(pods, names)] = split_targets(["po", "a", "b"])
    assert (pods.plural, names) == ("pods", ["a", "b"])
    assert [(r.plural, n) for r, n in split_targets(["pods,svc"])] == \
        [("pods", []), ("services", [])]
    assert [(r.plural, n) for r, n in split_targets(["pod/a", "svc/b", "pod/c"])] == \
        [("pods", ["a", "c"]), ("services", ["b"])]
    with pytest.raises(UsageError, match='doesn\'t have a resource type "pdos"'):
        split_targets(["pdos"])
    with pytest.raises(UsageError, match="one resource type"):
        split_targets(["pods,svc", "x"])


def test_kind_labels() -> None:
    [(ds, _)] = split_targets(["ds"])
    [(po, _)] = split_targets(["po"])
    assert (kind_label(po), kind_label(ds)) == ("pod", "daemonset.apps")


def test_documents_keep_file_index_and_line(tmp_path: Path) -> None:
    text = "a: 1\n---\n# only a comment\n---\nkind: Pod\nbad: [\n---\nkind: Service\n"
    assert [off for off, _ in split_documents(text)] == [0, 4, 7]
    (tmp_path / "b.yaml").write_text(text)
    (tmp_path / "a.yml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    (tmp_path / "notes.txt").write_text("ignored")
    docs = load_documents([str(tmp_path)])
    assert [(Path(d.source).name, d.index, d.error is None) for d in docs] == \
        [("a.yml", 1, True), ("b.yaml", 1, True), ("b.yaml", 2, False), ("b.yaml", 3, True)]
    # the broken document starts on line 5: line numbers are the file's, not the document's
    assert re.search(r"b\.yaml:[67]:\d+: ", docs[2].error or "")


def test_missing_manifest_path() -> None:
    with pytest.raises(ManifestError, match=r'the path "/nonexistent\.yaml" does not exist'):
        load_documents(["/nonexistent.yaml"])


def test_seed_manifest_is_refused_locally_with_both_problems() -> None:
    from io import StringIO

    from berth.cli.apply import local_problems

    [doc] = load_documents(["-"], stdin=StringIO(SEED))
    assert doc.obj is not None
    text = "\n".join(local_problems(doc.obj))
    assert 'unknown field "spec.container"; did you mean "spec.containers"?' in text
    assert 'The Pod "pod_name" is invalid: ' in text
    assert '* metadata.name: Invalid value: "pod_name"' in text
    assert "* spec.containers: Required value" in text


def test_error_wording_like_kubectl() -> None:
    err = NotFound('pods "x" not found', {"name": "x", "kind": "pods"})
    assert describe_error(err) == 'Error from server (NotFound): pods "x" not found'
    assert "You must be logged in" in describe_error(Unauthorized("Unauthorized"))
    inv = invalid("Pod", "p", [FieldError(INVALID, "metadata.name", "p_q", "bad name"),
                               FieldError(REQUIRED, "spec.containers")])
    assert describe_error(inv).splitlines() == [
        'The Pod "p" is invalid: ',
        '* metadata.name: Invalid value: "p_q": bad name',
        "* spec.containers: Required value",
    ]


def test_no_kubeconfig_is_one_line_and_exit_1(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BERTH_HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert main(["get", "pods"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no kubeconfig found at ") and err.count("\n") == 1


def test_help_does_not_import_heavy_modules() -> None:
    code = ("import sys; from berth.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in ('aiohttp', 'yaml', 'rich', 'asyncio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
