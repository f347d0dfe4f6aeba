"""Validation of the service kinds: Service, Endpoints and EndpointSlice.

Follows ValidateService (ports, types, session affinity, cluster IPs, IP
families) and the discovery/v1 EndpointSlice rules. Node ports are range-checked
by the allocator in the server, not here, as in Kubernetes. Every function takes
the whole object and returns the errors of its spec; metadata is checked by the
dispatcher in ``berth.api.validation``.
"""

from __future__ import annotations

from typing import Any

from berth.api.validation import names
from berth.api.validation.common import (
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
    not_supported,
    required,
    too_many,
    validate_labels,
)
from berth.api.validation.container import PROTOCOLS

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
AFFINITIES = ["ClientIP", "None"]
IP_FAMILIES = ["IPv4", "IPv6"]
IP_FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"]
TRAFFIC_POLICIES = ["Cluster", "Local"]
ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
MAX_AFFINITY_SECONDS = 86400


def is_headless(spec: dict[str, Any]) -> bool:
    return spec.get("clusterIP") == "None"


def validate_service_spec(service: dict[str, Any]) -> Errs:
    spec = as_dict(service.get("spec"))
    path = "spec"
    errs: Errs = []
    ports = as_list(spec.get("ports"))
    kind = spec.get("type")
    if not ports and not is_headless(spec) and kind != "ExternalName":
        errs.append(required(child(path, "ports")))
    if kind == "ExternalName":
        if as_list(spec.get("clusterIPs")) or as_str(spec.get("clusterIP")) not in ("", "None"):
            errs.append(forbidden(child(path, "clusterIPs"),
                                  "may not be set for ExternalName services"))
        cname = as_str(spec.get("externalName")).removesuffix(".")
        if cname:
            errs += each(child(path, "externalName"), cname, names.dns1123_subdomain_errors(cname))
        else:
            errs.append(required(child(path, "externalName")))
    seen_names: set[str] = set()
    for i, port in enumerate(ports):
        errs += _validate_service_port(as_dict(port), len(ports) > 1, seen_names,
                                       index(child(path, "ports"), i))
    if spec.get("selector") is not None:
        errs += validate_labels(spec.get("selector"), child(path, "selector"))
    errs += _validate_affinity(spec, path)
    errs += _validate_cluster_ips(spec, path)
    for i, ip in enumerate(as_list(spec.get("externalIPs"))):
        errs += each(index(child(path, "externalIPs"), i), ip, names.ip_errors(as_str(ip)))
    errs += check_enum(child(path, "type"), kind, SERVICE_TYPES)
    if kind in (None, "ClusterIP"):
        for i, port in enumerate(ports):
            if as_int(as_dict(port).get("nodePort")):
                errs.append(forbidden(child(index(child(path, "ports"), i), "nodePort"),
                                      "may not be used when `type` is 'ClusterIP'"))
    errs += _duplicate_ports(ports, path)
    errs += check_enum(child(path, "internalTrafficPolicy"), spec.get("internalTrafficPolicy"),
                       TRAFFIC_POLICIES)
    errs += check_enum(child(path, "externalTrafficPolicy"), spec.get("externalTrafficPolicy"),
                       TRAFFIC_POLICIES)
    return errs


def _validate_service_port(port: dict[str, Any], require_name: bool, seen: set[str],
                           path: str) -> Errs:
    errs: Errs = []
    name = as_str(port.get("name"))
    if require_name and not name:
        errs.append(required(child(path, "name")))
    elif name:
        errs += each(child(path, "name"), name, names.dns1123_label_errors(name))
        if name in seen:
            errs.append(duplicate(child(path, "name"), name))
        seen.add(name)
    number = as_int(port.get("port")) or 0
    errs += each(child(path, "port"), number, names.port_num_errors(number))
    errs += check_enum(child(path, "protocol"), port.get("protocol"), PROTOCOLS)
    target = port.get("targetPort")
    target_num = as_int(target)
    if isinstance(target, str):
        errs += each(child(path, "targetPort"), target, names.port_name_errors(target))
    elif target_num:
        errs += each(child(path, "targetPort"), target_num, names.port_num_errors(target_num))
    return errs


def _duplicate_ports(ports: list[Any], path: str) -> Errs:
    errs: Errs = []
    seen_ports: set[tuple[str, Any]] = set()
    seen_node_ports: set[tuple[str, Any]] = set()
    for i, port in enumerate(ports):
        port = as_dict(port)
        protocol = as_str(port.get("protocol")) or "TCP"
        pair = (protocol, port.get("port"))
        if pair in seen_ports:
            errs.append(duplicate(index(child(path, "ports"), i),
                                  {"port": pair[1], "protocol": protocol}))
        seen_ports.add(pair)
        node_port = as_int(port.get("nodePort"))
        if node_port:
            if (protocol, node_port) in seen_node_ports:
                errs.append(duplicate(child(index(child(path, "ports"), i), "nodePort"),
                                      node_port))
            seen_node_ports.add((protocol, node_port))
    return errs


def _validate_affinity(spec: dict[str, Any], path: str) -> Errs:
    affinity = spec.get("sessionAffinity")
    errs = check_enum(child(path, "sessionAffinity"), affinity, AFFINITIES)
    config_path = child(path, "sessionAffinityConfig")
    config = spec.get("sessionAffinityConfig")
    if affinity == "ClientIP":
        when = "when session affinity type is ClientIP"
        client_ip = as_dict(config).get("clientIP")
        if config is None:
            errs.append(required(config_path, when))
        elif client_ip is None:
            errs.append(required(child(config_path, "clientIP"), when))
        else:
            timeout = as_dict(client_ip).get("timeoutSeconds")
            timeout_path = child(config_path, "clientIP", "timeoutSeconds")
            if timeout is None:
                errs.append(required(timeout_path, when))
            elif not isinstance(timeout, int) or not 0 < timeout <= MAX_AFFINITY_SECONDS:
                errs.append(invalid(timeout_path, timeout,
                                    f"must be greater than 0 and less than {MAX_AFFINITY_SECONDS}"))
    elif affinity in (None, "None") and config is not None:
        errs.append(forbidden(config_path, "must not be set when session affinity is None"))
    return errs


def _validate_cluster_ips(spec: dict[str, Any], path: str) -> Errs:
    if spec.get("type") == "ExternalName":
        return []
    errs: Errs = []
    cluster_ip = as_str(spec.get("clusterIP"))
    ips_path = child(path, "clusterIPs")
    cluster_ips = as_list(spec.get("clusterIPs"))
    if cluster_ip and cluster_ips and cluster_ips[0] != cluster_ip:
        errs.append(invalid(ips_path, cluster_ips, "first value must match `clusterIP`"))
    if not cluster_ip and cluster_ips:
        errs.append(invalid(ips_path, cluster_ips,
                            "must be empty when `clusterIP` is not specified"))
    ips = cluster_ips or ([cluster_ip] if cluster_ip else [])
    field_path = ips_path if cluster_ips else child(path, "clusterIP")
    for i, ip in enumerate(ips):
        ip_path = index(ips_path, i) if cluster_ips else field_path
        if i == 0 and ip == "None":
            if len(ips) > 1:
                errs.append(invalid(ips_path, ips, "'None' must be the first and only value"))
            continue
        errs += each(ip_path, ip, names.ip_errors(as_str(ip)))
    families = as_list(spec.get("ipFamilies"))
    seen: set[str] = set()
    for i, family in enumerate(families):
        family_path = index(child(path, "ipFamilies"), i)
        if family not in IP_FAMILIES:
            errs.append(not_supported(family_path, family, IP_FAMILIES))
        if family in seen:
            errs.append(duplicate(family_path, family))
        seen.add(as_str(family))
    errs += check_enum(child(path, "ipFamilyPolicy"), spec.get("ipFamilyPolicy"),
                       IP_FAMILY_POLICIES)
    if len(families) > 2:
        errs.append(invalid(child(path, "ipFamilies"), families,
                            "may not have more than two entries"))
    if len(families) > 1 and spec.get("ipFamilyPolicy") in (None, "SingleStack"):
        errs.append(invalid(child(path, "ipFamilies"), families,
                            "must be single entry when `ipFamilyPolicy` is 'SingleStack'"))
    return errs


def validate_endpoints(endpoints: dict[str, Any]) -> Errs:
    errs: Errs = []
    for si, subset in enumerate(as_list(endpoints.get("subsets"))):
        subset = as_dict(subset)
        subset_path = index("subsets", si)
        addresses = as_list(subset.get("addresses")) + as_list(subset.get("notReadyAddresses"))
        if not addresses:
            errs.append(required(subset_path, "must specify `addresses` or `notReadyAddresses`"))
        for field_name in ("addresses", "notReadyAddresses"):
            for ai, address in enumerate(as_list(subset.get(field_name))):
                address = as_dict(address)
                ip_path = child(index(child(subset_path, field_name), ai), "ip")
                errs += each(ip_path, address.get("ip"), names.ip_errors(as_str(address.get("ip"))))
                node = as_str(address.get("nodeName"))
                if node:
                    errs += each(child(index(child(subset_path, field_name), ai), "nodeName"),
                                 node, names.dns1123_subdomain_errors(node))
        ports = as_list(subset.get("ports"))
        for pi, port in enumerate(ports):
            port = as_dict(port)
            port_path = index(child(subset_path, "ports"), pi)
            name = as_str(port.get("name"))
            if len(ports) > 1 and not name:
                errs.append(required(child(port_path, "name")))
            elif name:
                errs += each(child(port_path, "name"), name, names.dns1123_label_errors(name))
            number = as_int(port.get("port")) or 0
            errs += each(child(port_path, "port"), number, names.port_num_errors(number))
            errs += check_enum(child(port_path, "protocol"), port.get("protocol"), PROTOCOLS)
    return errs


def validate_endpoint_slice(slice_: dict[str, Any]) -> Errs:
    errs: Errs = []
    address_type = slice_.get("addressType")
    errs += check_enum("addressType", address_type, ADDRESS_TYPES, optional=False)
    endpoints = as_list(slice_.get("endpoints"))
    if len(endpoints) > 1000:
        errs.append(too_many("endpoints", len(endpoints), 1000))
    for ei, endpoint in enumerate(endpoints):
        endpoint = as_dict(endpoint)
        ep_path = index("endpoints", ei)
        addresses = as_list(endpoint.get("addresses"))
        if not addresses:
            errs.append(required(child(ep_path, "addresses"), "must contain at least 1 address"))
        elif len(addresses) > 100:
            errs.append(too_many(child(ep_path, "addresses"), len(addresses), 100))
        for ai, address in enumerate(addresses):
            errs += _validate_slice_address(as_str(address), address_type,
                                            index(child(ep_path, "addresses"), ai))
        node = as_str(endpoint.get("nodeName"))
        if node:
            errs += each(child(ep_path, "nodeName"), node, names.dns1123_subdomain_errors(node))
    seen: set[str] = set()
    ports = as_list(slice_.get("ports"))
    for pi, port in enumerate(ports):
        port = as_dict(port)
        port_path = index("ports", pi)
        name = as_str(port.get("name"))
        if name:
            errs += each(child(port_path, "name"), name, names.dns1123_label_errors(name))
        if name in seen:
            errs.append(duplicate(child(port_path, "name"), name))
        seen.add(name)
        errs += check_enum(child(port_path, "protocol"), port.get("protocol"), PROTOCOLS)
        number = as_int(port.get("port"))
        if number is not None:
            errs += each(child(port_path, "port"), number, names.port_num_errors(number))
    return errs


def _validate_slice_address(address: str, address_type: Any, path: str) -> Errs:
    if address_type == "IPv4" and names.ip_version(address) != 4:
        return [invalid(path, address, "must be a valid IPv4 address")]
    if address_type == "IPv6" and names.ip_version(address) != 6:
        return [invalid(path, address, "must be a valid IPv6 address")]
    if address_type == "FQDN":
        return each(path, address, names.dns1123_subdomain_errors(address))
    return []
