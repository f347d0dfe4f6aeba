"""``berth expose``'s Service plan: selector and ports introspected as kubectl does."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from berth.api.resources import by_key
from berth.cli import expose
from berth.cli.errors import UsageError


def flags(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    expose.add_arguments(parser)
    return parser.parse_args(["pod", "x", *argv])


def res(key: str) -> Any:
    found = by_key(key)
    assert found is not None
    return found


POD = {"metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80},
                                                      {"containerPort": 53,
                                                       "protocol": "UDP"}]}]}}


def test_pod_ports_become_named_service_ports_without_port_flag() -> None:
    svc = expose.plan_service(res("pods"), POD, flags())
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["spec"]["ports"] == [
        {"port": 80, "protocol": "TCP", "targetPort": 80, "name": "port-1"},
        {"port": 53, "protocol": "UDP", "targetPort": 53, "name": "port-2"}]
    assert svc["metadata"] == {"name": "web", "labels": {"app": "web"}}


def test_port_flags_give_one_port_with_type_and_name() -> None:
    svc = expose.plan_service(res("pods"), POD, flags("--port", "8080", "--target-port", "http",
                                                       "--type", "NodePort", "--name", "w",
                                                       "--protocol", "UDP"))
    assert svc["spec"]["ports"] == [{"port": 8080, "protocol": "UDP", "targetPort": "http"}]
    assert svc["spec"]["type"] == "NodePort" and svc["metadata"]["name"] == "w"


def test_daemonset_selector_comes_from_match_labels() -> None:
    ds: dict[str, Any] = {"metadata": {"name": "d"},
          "spec": {"selector": {"matchLabels": {"k": "v"}},
                   "template": {"spec": {"containers": [
                       {"name": "c", "ports": [{"containerPort": 8080}]}]}}}}
    svc = expose.plan_service(res("daemonsets.apps"), ds, flags())
    assert svc["spec"]["selector"] == {"k": "v"}
    assert svc["spec"]["ports"][0]["port"] == 8080
    ds["spec"]["selector"] = {"matchExpressions": [{"key": "k", "operator": "Exists"}]}
    with pytest.raises(UsageError, match="matchExpressions"):
        expose.plan_service(res("daemonsets.apps"), ds, flags("--port", "80"))


@pytest.mark.parametrize(("obj", "argv", "message"), [
    ({"metadata": {"name": "bare"}, "spec": {"containers": [{"name": "c"}]}}, ("--port", "80"),
     "no labels"),
    (POD | {"spec": {"containers": [{"name": "c"}]}}, (), "--port flag"),
    (POD, ("--port", "80", "--type", "External"), "--type"),
    (POD, ("--port", "80", "--selector", "app"), "--selector"),
    (POD, ("--target-port", "81"), "several ports"),
])
def test_bad_input_names_what_is_wrong(obj: dict[str, Any], argv: tuple[str, ...],
                                       message: str) -> None:
    with pytest.raises(UsageError, match=message):
        expose.plan_service(res("pods"), obj, flags(*argv))


def test_only_exposable_kinds_are_accepted() -> None:
    assert expose.parse_target(["svc/web"])[1] == "web"
    with pytest.raises(UsageError, match="cannot expose"):
        expose.parse_target(["node", "n1"])
