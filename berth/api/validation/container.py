"""Container validation shared by regular, init and ephemeral containers.

``validate_container_common`` holds the rules every container type shares
(name, image, ports, env, volume mounts, pull policy, resources);
``validate_probes_and_lifecycle`` the handler rules that apply to regular
containers and restartable init containers (sidecars). ``berth.api.validation.pod``
decides which container gets which.
"""

from __future__ import annotations

from typing import Any

from berth.api.errors import QuantityError
from berth.api.quantity import parse_quantity
from berth.api.validation import names
from berth.api.validation.common import (
    NEGATIVE,
    Errs,
    as_dict,
    as_int,
    as_list,
    as_str,
    check_enum,
    child,
    duplicate,
    each,
    forbidden,
    index,
    invalid,
    key,
    nonnegative,
    not_found,
    not_supported,
    required,
)

PROTOCOLS = ["SCTP", "TCP", "UDP"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc", "sleep")
STANDARD_RESOURCES = {"cpu", "memory", "ephemeral-storage"}


def validate_container_common(ctr: dict[str, Any], volumes: set[str], path: str) -> Errs:
    errs: Errs = []
    name = as_str(ctr.get("name"))
    if not name:
        errs.append(required(child(path, "name")))
    else:
        errs += each(child(path, "name"), name, names.dns1123_label_errors(name))
    image = as_str(ctr.get("image"))
    if not image:
        errs.append(required(child(path, "image")))
    elif image != image.strip():
        errs.append(invalid(child(path, "image"), image,
                            "must not have leading or trailing whitespace"))
    errs += check_enum(child(path, "terminationMessagePolicy"),
                       ctr.get("terminationMessagePolicy"), MESSAGE_POLICIES)
    errs += _validate_ports(as_list(ctr.get("ports")), child(path, "ports"))
    errs += _validate_env(as_list(ctr.get("env")), child(path, "env"))
    errs += _validate_mounts(as_list(ctr.get("volumeMounts")), volumes,
                             child(path, "volumeMounts"))
    errs += check_enum(child(path, "imagePullPolicy"), ctr.get("imagePullPolicy"),
                       PULL_POLICIES)
    errs += _validate_resources(as_dict(ctr.get("resources")), child(path, "resources"))
    return errs


def _validate_ports(ports: list[Any], path: str) -> Errs:
    errs: Errs = []
    seen: set[str] = set()
    for i, port in enumerate(ports):
        port = as_dict(port)
        port_path = index(path, i)
        name = as_str(port.get("name"))
        if name:
            problems = names.port_name_errors(name)
            if problems:
                errs += each(child(port_path, "name"), name, problems)
            elif name in seen:
                errs.append(duplicate(child(port_path, "name"), name))
            else:
                seen.add(name)
        number = as_int(port.get("containerPort"))
        if not number:
            errs.append(required(child(port_path, "containerPort")))
        else:
            errs += each(child(port_path, "containerPort"), number, names.port_num_errors(number))
        host = as_int(port.get("hostPort"))
        if host:
            errs += each(child(port_path, "hostPort"), host, names.port_num_errors(host))
        errs += check_enum(child(port_path, "protocol"), port.get("protocol"), PROTOCOLS)
    return errs


def host_port_conflicts(containers: list[Any], path: str, start: int = 0) -> Errs:
    errs: Errs = []
    seen: set[str] = set()
    for ci, ctr in enumerate(containers, start):
        for pi, port in enumerate(as_list(as_dict(ctr).get("ports"))):
            port = as_dict(port)
            host = as_int(port.get("hostPort"))
            if not host:
                continue
            text = f"{port.get('protocol') or 'TCP'}/{as_str(port.get('hostIP'))}/{host}"
            if text in seen:
                errs.append(duplicate(child(index(child(index(path, ci), "ports"), pi),
                                            "hostPort"), text))
            seen.add(text)
    return errs


def _validate_env(env: list[Any], path: str) -> Errs:
    errs: Errs = []
    for i, var in enumerate(env):
        var = as_dict(var)
        var_path = index(path, i)
        name = as_str(var.get("name"))
        if not name:
            errs.append(required(child(var_path, "name")))
        else:
            errs += each(child(var_path, "name"), name, names.env_var_name_errors(name))
        source = var.get("valueFrom")
        if source is None:
            continue
        from_path = child(var_path, "valueFrom")
        kinds = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef",
                             "fileKeyRef") if as_dict(source).get(k) is not None]
        if as_str(var.get("value")):
            errs.append(invalid(from_path, "", "may not be specified when `value` is not empty"))
        if not kinds:
            errs.append(invalid(from_path, "", "must specify one of: `fieldRef`, "
                                "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
        elif len(kinds) > 1:
            errs.append(invalid(from_path, "",
                                "may not have more than one field specified at a time"))
    return errs


def _validate_mounts(mounts: list[Any], volumes: set[str], path: str) -> Errs:
    errs: Errs = []
    points: set[str] = set()
    for i, mount in enumerate(mounts):
        mount = as_dict(mount)
        mount_path = index(path, i)
        name = as_str(mount.get("name"))
        if not name:
            errs.append(required(child(mount_path, "name")))
        if name not in volumes:
            errs.append(not_found(child(mount_path, "name"), name))
        point = as_str(mount.get("mountPath"))
        if not point:
            errs.append(required(child(mount_path, "mountPath")))
        if point in points:
            errs.append(invalid(child(mount_path, "mountPath"), point, "must be unique"))
        points.add(point)
        sub = as_str(mount.get("subPath"))
        if sub.startswith("/"):
            errs.append(invalid(child(mount_path, "subPath"), sub, "must be a relative path"))
        elif ".." in sub.split("/"):
            errs.append(invalid(child(mount_path, "subPath"), sub, "must not contain '..'"))
    return errs


def quantity_errors(value: Any, path: str) -> Errs:
    if value is None:
        return []
    try:
        number = parse_quantity(value)
    except QuantityError as exc:
        return [invalid(path, value, str(exc))]
    return [invalid(path, str(value), NEGATIVE)] if number < 0 else []


def _validate_resources(resources: dict[str, Any], path: str) -> Errs:
    errs: Errs = []
    limits = as_dict(resources.get("limits"))
    requests = as_dict(resources.get("requests"))
    parsed: dict[str, Any] = {}
    for section, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            item_path = key(child(path, section), name)
            if "/" not in name and name not in STANDARD_RESOURCES \
                    and not name.startswith("hugepages-"):
                errs.append(invalid(item_path, name, "must be a standard resource for containers"))
            found = quantity_errors(value, item_path)
            errs += found
            if not found and section == "limits":
                parsed[name] = parse_quantity(value)
    for name, value in requests.items():
        if name not in parsed or quantity_errors(value, ""):
            continue
        request, limit = parse_quantity(value), parsed[name]
        native = "/" not in name or name.startswith("kubernetes.io/")
        overcommit = native and not name.startswith("hugepages-")
        if request != limit and not overcommit:
            errs.append(invalid(child(path, "requests"), str(value),
                                f"must be equal to {name} limit of {limits[name]}"))
        elif request > limit:
            errs.append(invalid(child(path, "requests"), str(value),
                                f"must be less than or equal to {name} limit of {limits[name]}"))
    return errs


# --- probes and lifecycle ----------------------------------------------------------

def validate_probes_and_lifecycle(ctr: dict[str, Any], path: str) -> Errs:
    errs: Errs = []
    lifecycle = ctr.get("lifecycle")
    if lifecycle is not None:
        for hook in ("postStart", "preStop"):
            handler = as_dict(lifecycle).get(hook)
            if handler is not None:
                errs += _validate_handler(as_dict(handler), child(path, "lifecycle", hook),
                                          lifecycle=True)
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = ctr.get(probe_name)
        if probe is None:
            continue
        probe = as_dict(probe)
        probe_path = child(path, probe_name)
        errs += _validate_probe(probe, probe_path)
        success = as_int(probe.get("successThreshold"))
        if probe_name != "readinessProbe" and success is not None and success != 1:
            errs.append(invalid(child(probe_path, "successThreshold"), success, "must be 1"))
        grace = probe.get("terminationGracePeriodSeconds")
        if probe_name == "readinessProbe" and grace is not None:
            errs.append(invalid(child(probe_path, "terminationGracePeriodSeconds"), grace,
                                "must not be set for readinessProbes"))
    return errs


def _validate_probe(probe: dict[str, Any], path: str) -> Errs:
    errs = _validate_handler(probe, path, lifecycle=False)
    for field_name in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                       "successThreshold", "failureThreshold"):
        errs += nonnegative(child(path, field_name), probe.get(field_name))
    grace = as_int(probe.get("terminationGracePeriodSeconds"))
    if grace is not None and grace <= 0:
        errs.append(invalid(child(path, "terminationGracePeriodSeconds"), grace,
                            "must be greater than 0"))
    return errs


def _validate_handler(handler: dict[str, Any], path: str, lifecycle: bool) -> Errs:
    errs: Errs = []
    count = 0
    for kind in HANDLERS:
        if handler.get(kind) is None or (kind == "sleep" and not lifecycle):
            continue
        if count:
            errs.append(forbidden(child(path, kind), "may not specify more than 1 handler type"))
            continue
        count += 1
        body = as_dict(handler[kind])
        kind_path = child(path, kind)
        if kind == "exec" and not as_list(body.get("command")):
            errs.append(required(child(kind_path, "command")))
        elif kind == "httpGet":
            if not as_str(body.get("path")) and "path" in body:
                errs.append(required(child(kind_path, "path")))
            errs += _port_num_or_name(body.get("port"), child(kind_path, "port"))
            scheme = body.get("scheme")
            if scheme is not None and scheme not in ("HTTP", "HTTPS"):
                errs.append(not_supported(child(kind_path, "scheme"), scheme, ["HTTP", "HTTPS"]))
        elif kind == "tcpSocket":
            errs += _port_num_or_name(body.get("port"), child(kind_path, "port"))
        elif kind == "grpc":
            port = as_int(body.get("port")) or 0
            errs += each(child(kind_path, "port"), port, names.port_num_errors(port))
        elif kind == "sleep":
            seconds = as_int(body.get("seconds"))
            if seconds is not None and seconds < 0:
                errs.append(invalid(child(kind_path, "seconds"), seconds, NEGATIVE))
    if count == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


def _port_num_or_name(port: Any, path: str) -> Errs:
    if isinstance(port, str):
        return each(path, port, names.port_name_errors(port))
    number = as_int(port) or 0
    return each(path, number, names.port_num_errors(number))
