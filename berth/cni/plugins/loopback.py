"""``berth-loopback``: bring ``lo`` up in the pod's network namespace.

ADD sets ``lo`` up and returns the loopback addresses (or passes a chained
``prevResult`` through, as the reference plugin does); DEL sets it down and
succeeds when the namespace is already gone or CNI_NETNS is empty; CHECK
fails unless ``lo`` is up.  pyroute2 is imported only inside the commands.
"""

from __future__ import annotations

import ipaddress

from berth.cni import fastpath
from berth.cni.conf import NetConf
from berth.cni.errors import CheckFailed, InvalidEnvironment
from berth.cni.skel import CmdArgs, Plugin
from berth.cni.spec import Interface, IPConfig, Result


class Loopback(Plugin):
    name = "berth-loopback"

    def add(self, args: CmdArgs, conf: NetConf) -> Result:
        from berth.host.errors import NetnsNotFound
        from berth.host.netlink import Netlink

        try:
            with Netlink.open(args.netns) as nl:
                nl.set_up(nl.require_link("lo").index)
        except NetnsNotFound as exc:
            raise InvalidEnvironment(f"CNI_NETNS: {exc}") from exc
        if conf.prev_result is not None:
            return conf.prev_result
        return Result(
            conf.cni_version,
            interfaces=(Interface("lo", "00:00:00:00:00:00", args.netns),),
            ips=(IPConfig(ipaddress.ip_interface("127.0.0.1/8"), interface=0),
                 IPConfig(ipaddress.ip_interface("::1/128"), interface=0)),
        )

    def delete(self, args: CmdArgs, conf: NetConf) -> None:
        if not args.netns:
            return
        from berth.host.errors import NetnsNotFound
        from berth.host.netlink import Netlink

        try:
            with Netlink.open(args.netns) as nl:
                nl.set_down(nl.require_link("lo").index)
        except NetnsNotFound:
            return

    def check(self, args: CmdArgs, conf: NetConf) -> None:
        from berth.host.errors import NetnsNotFound
        from berth.host.netlink import Netlink

        try:
            with Netlink.open(args.netns) as nl:
                up = nl.require_link("lo").up
        except NetnsNotFound as exc:
            raise InvalidEnvironment(f"CNI_NETNS: {exc}") from exc
        if not up:
            raise CheckFailed("loopback interface lo is down")


def main() -> None:
    fastpath.loopback()
