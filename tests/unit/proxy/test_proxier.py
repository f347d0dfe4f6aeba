"""The proxier's failure handling and the conntrack argv, without touching the kernel."""

from __future__ import annotations

import pytest

from berth.host.conntrack import conntrack_args
from berth.proxy import Proxier, SyncFailed


def test_missing_namespace_is_a_clear_sync_failure() -> None:
    proxy = Proxier("n1", netns="berth-no-such-namespace-for-proxy")
    with pytest.raises(SyncFailed, match="berth-no-such-namespace-for-proxy"):
        proxy.sync([], [])
    assert proxy.state is None  # the next sync rebuilds the whole table


async def test_run_without_a_client_or_watch_says_what_is_missing() -> None:
    with pytest.raises(SyncFailed, match="API client or a ServiceWatch"):
        await Proxier("n1").run()


def test_conntrack_deletes_only_the_flows_it_names() -> None:
    assert conntrack_args(orig_dst="10.96.0.9", orig_port=53, dst_nat="10.244.1.2") == [
        "conntrack", "-D", "-p", "udp", "--orig-dst", "10.96.0.9", "--orig-port-dst", "53",
        "--dst-nat", "10.244.1.2"]
    assert conntrack_args(orig_port=30053) == ["conntrack", "-D", "-p", "udp",
                                               "--orig-port-dst", "30053"]
