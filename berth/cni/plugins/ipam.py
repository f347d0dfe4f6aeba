"""IPAM delegation for main plugins (bridge): in-process for berth's, exec for others.

The whole network configuration goes to the IPAM plugin, as libcni's
``DelegateAdd`` does.  When ``ipam.type`` is ``berth-host-local`` the handler
runs in this process (no exec, no second Python start); any other type is
looked up in CNI_PATH and exec'd with this plugin's environment and
CNI_COMMAND replaced.  Errors come back as the IPAM plugin's CNI codes.
"""

from __future__ import annotations

from berth.cni import invoke
from berth.cni.conf import NetConf
from berth.cni.errors import InvalidConfig
from berth.cni.skel import CmdArgs, run_command
from berth.cni.spec import IPAddress, Result, parse_result

IN_PROCESS = "berth-host-local"


def ipam_type(conf: NetConf) -> str | None:
    ipam = conf.ipam
    if ipam is None:
        return None
    kind = ipam.get("type")
    if not isinstance(kind, str) or not kind:
        raise InvalidConfig("ipam.type: required string field is missing")
    return kind


def delegate(command: str, args: CmdArgs, conf: NetConf) -> Result | None:
    """Run ``command`` on the configured IPAM plugin; the ADD result, else None."""
    kind = ipam_type(conf)
    if kind is None:
        return None
    sub = CmdArgs(command, args.container_id, args.netns, args.ifname, args.args, args.path,
                  args.stdin, args.env)
    if kind == IN_PROCESS:
        from berth.cni.plugins.host_local import HostLocal

        return run_command(HostLocal(), sub, conf)
    path = invoke.find_plugin(kind, list(args.path))
    call = invoke.Call(command, args.container_id, args.netns, args.ifname, args.args, args.path)
    reply = invoke.exec_plugin(path, call, args.stdin, base_env=args.env)
    if command != "ADD":
        return None
    if reply is None:
        raise InvalidConfig(f"ipam.type: {kind} returned no result for ADD")
    return parse_result(reply, f"{kind} result")


def held_addresses(args: CmdArgs, conf: NetConf, *, everyone: bool = False) -> list[IPAddress]:
    """Addresses berth-host-local holds for this attachment (or for all, ``everyone``).

    Only the in-process IPAM can be asked; for other IPAM plugins this is empty.
    """
    if ipam_type(conf) != IN_PROCESS:
        return []
    from berth.cni.plugins.host_local import open_store

    store = open_store(conf)
    if everyone:
        return [ip for ip, _, _ in store.attachments()]
    return store.get_by_id(args.container_id, args.ifname)
