"""``berth-net``: the node's meta plugin - subnet.env in, bridge + host-local out.

A node's conflist is one short chain (``berth-net``, ``berth-portmap``,
``loopback``): berth-net reads the node's pod subnet, cluster CIDR, MTU and
masquerade flag from the node's subnet.env (``subnetFile``, default
/run/berth/subnet.env, written by the network agent; see ``net_conf``), plans
the ``berth-bridge`` + ``berth-host-local`` configuration and runs it in this
process (no exec; another delegate ``type`` is exec'd from CNI_PATH).

ADD saves the delegate configuration under ``dataDir`` (one file per
attachment), so DEL and CHECK use exactly what ADD used even when subnet.env
changed or is gone; DEL without a saved file and without subnet.env succeeds
(nothing of ours can be left).  STATUS fails with code 50 until subnet.env
exists (the node has no subnet yet).
"""

from __future__ import annotations

import json
import os
from contextlib import suppress

from berth.cni import fastpath, invoke
from berth.cni.conf import NetConf, parse_netconf
from berth.cni.errors import InvalidConfig, PluginNotAvailable
from berth.cni.plugins.bridge import Bridge
from berth.cni.plugins.net_conf import (
    NodeSubnet,
    data_dir,
    parse_subnet_env,
    plan_delegate,
    subnet_file,
)
from berth.cni.skel import CmdArgs, Deferrer, Plugin, run_command
from berth.cni.spec import Result, parse_result


def read_subnet(conf: NetConf) -> NodeSubnet:
    path = subnet_file(conf)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError as exc:
        raise PluginNotAvailable(f"subnetFile: {path} does not exist",
                                 "the node's network agent has not written it yet") from exc
    except OSError as exc:
        raise InvalidConfig(f"subnetFile: cannot read {path}", exc.strerror or "") from exc
    return parse_subnet_env(text, path)


class Net(Plugin):
    name = "berth-net"

    def __init__(self, background: Deferrer | None = None) -> None:
        self.bridge = Bridge(background)

    def _saved(self, args: CmdArgs, conf: NetConf) -> str:
        return os.path.join(data_dir(conf), f"{args.container_id}-{args.ifname}.json")

    def _delegate(self, command: str, args: CmdArgs, sub: NetConf) -> Result | None:
        sub_args = CmdArgs(command, args.container_id, args.netns, args.ifname, args.args,
                           args.path, json.dumps(sub.raw).encode(), args.env)
        if sub.type == "berth-bridge":
            return run_command(self.bridge, sub_args, sub)
        path = invoke.find_plugin(sub.type, list(args.path))
        call = invoke.Call(command, args.container_id, args.netns, args.ifname, args.args,
                           args.path)
        reply = invoke.exec_plugin(path, call, sub_args.stdin, base_env=args.env)
        return parse_result(reply, f"{sub.type} result") if command == "ADD" and reply else None

    def add(self, args: CmdArgs, conf: NetConf) -> Result:
        raw = plan_delegate(conf, read_subnet(conf))
        sub = parse_netconf(json.dumps(raw).encode(), source="delegate")
        saved = self._saved(args, conf)
        os.makedirs(os.path.dirname(saved), mode=0o700, exist_ok=True)
        tmp = f"{saved}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(raw, f)
        os.replace(tmp, saved)
        try:
            result = self._delegate("ADD", args, sub)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(saved)
            raise
        if result is None:
            raise InvalidConfig(f"delegate: {sub.type} returned no result")
        return result

    def _saved_conf(self, args: CmdArgs, conf: NetConf) -> NetConf | None:
        try:
            with open(self._saved(args, conf), "rb") as f:
                raw = json.load(f)
        except (FileNotFoundError, ValueError):
            return None
        for key in ("prevResult", "runtimeConfig", "cniVersion"):
            if key in conf.raw:
                raw[key] = conf.raw[key]
            else:
                raw.pop(key, None)
        return parse_netconf(json.dumps(raw).encode(), source="saved delegate")

    def delete(self, args: CmdArgs, conf: NetConf) -> None:
        sub = self._saved_conf(args, conf)
        if sub is None:
            try:
                raw = plan_delegate(conf, read_subnet(conf))
            except PluginNotAvailable:
                return
            sub = parse_netconf(json.dumps(raw).encode(), source="delegate")
        self._delegate("DEL", args, sub)
        with suppress(FileNotFoundError):
            os.unlink(self._saved(args, conf))

    def check(self, args: CmdArgs, conf: NetConf) -> None:
        sub = self._saved_conf(args, conf)
        if sub is None:
            raise InvalidConfig(f"dataDir: no saved delegate for {args.container_id}/"
                                f"{args.ifname}", "was ADD run?")
        self._delegate("CHECK", args, sub)

    def status(self, args: CmdArgs, conf: NetConf) -> None:
        raw = plan_delegate(conf, read_subnet(conf))
        self._delegate("STATUS", args, parse_netconf(json.dumps(raw).encode(), source="delegate"))

    def gc(self, args: CmdArgs, conf: NetConf) -> None:
        try:
            raw = plan_delegate(conf, read_subnet(conf))
        except PluginNotAvailable:
            return
        self._delegate("GC", args, parse_netconf(json.dumps(raw).encode(), source="delegate"))


def main() -> None:
    fastpath.net()
