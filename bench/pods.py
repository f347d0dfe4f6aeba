"""bench/pods: pod start latency, 110 pods at once, agent memory and per-pod overhead.

Three runtimes in one run, side by side, on one node network namespace
``berth-bp<hex>`` the bench creates (and removes, also on failure); every
pod's network is a bridge in that namespace, so no traffic leaves it:

- berth: a real ``berth server`` (sqlite) and a real ``berth node`` (runc,
  reference bridge + host-local through berth's CNI client).  Start latency
  is "create through the API until Ready is seen on a watch".
- containerd 1.6 through its CRI (``berth.testing.containerd``): per pod
  RunPodSandbox (CNI ADD of the reference plugins) + CreateContainer +
  StartContainer; 110 pods on 16 threads.
- podman 4.3: ``podman kube play`` of one pod per file (sequential) and one
  file holding the 110 pods (``berth.testing.podman``), with berth's pause
  binary as the infra image.

Every pod runs one busybox container (``sleep 3600``), the same image built
offline from busybox-static.  Per pod overhead is the PSS (smaps_rollup) of
what a runtime adds beyond the app: berth's pause + its monitors, containerd's
shim + pause, podman's conmons + infra; divided by the number of pods.

    .venv/bin/python -m bench.pods [--pods 30] [--many 110] [--skip containerd,podman]
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import percentile
from bench.pods_berth import run_berth
from bench.pods_others import run_containerd, run_podman
from berth.host import netns
from berth.host.loopback import set_loopback_up


@dataclass
class Figures:
    runtime: str
    start_ms: list[float]
    many_ready_s: float
    daemon: str = ""
    daemon_rss_mib: float = 0.0
    overhead_kib: float = 0.0
    many_delete_s: float = 0.0
    note: str = ""

    @property
    def p50(self) -> float:
        return percentile(self.start_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.start_ms, 99)


TARGETS = ("p50 start <= containerd's", "110 pods Ready <= 10 s",
           "node agent RSS <= 100 MB at 110 pods", "sandbox overhead <= 1 MB per pod")


def render_table(rows: list[Figures], n: int, many: int) -> str:
    lines = [f"| runtime | start p50 ms | start p99 ms (N={n}) | {many} pods Ready s "
             f"| daemon RSS MiB at {many} | overhead per pod KiB PSS | delete {many} s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        rss = f"{r.daemon_rss_mib:.1f} ({r.daemon})" if r.daemon else "-"
        lines.append(f"| {r.runtime} | {r.p50:.0f} | {r.p99:.0f} | {r.many_ready_s:.2f} "
                     f"| {rss} | {r.overhead_kib:.0f} | {r.many_delete_s:.2f} |")
    return "\n".join(lines)


def check_targets(rows: list[Figures]) -> list[tuple[str, bool, str]]:
    by = {r.runtime: r for r in rows}
    berth = by.get("berth")
    if berth is None:
        return []
    out = []
    ctrd = by.get("containerd (CRI)")
    if ctrd is not None:
        out.append((TARGETS[0], berth.p50 <= ctrd.p50, f"{berth.p50:.0f} vs {ctrd.p50:.0f} ms"))
    out.append((TARGETS[1], berth.many_ready_s <= 10, f"{berth.many_ready_s:.2f} s"))
    out.append((TARGETS[2], berth.daemon_rss_mib * 1.048576 <= 100,
                f"{berth.daemon_rss_mib * 1.048576:.1f} MB"))
    out.append((TARGETS[3], berth.overhead_kib * 1.024 <= 1000,
                f"{berth.overhead_kib:.0f} KiB"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pods", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--pods", type=int, default=30, help="sequential pods (latency)")
    parser.add_argument("--many", type=int, default=110, help="pods created at once")
    parser.add_argument("--skip", default="", help="comma list: containerd,podman")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    tag = secrets.token_hex(3)
    node_ns = f"berth-bp{tag}"
    path = netns.create_netns(node_ns)
    rows: list[Figures] = []
    work = Path(tempfile.mkdtemp(prefix="bp-"))  # short: unix socket paths
    try:
        set_loopback_up(path)
        print(f"node namespace {node_ns}, work dir {work}", flush=True)
        runs = [("berth", lambda: run_berth(work / "b", node_ns, tag, args.pods, args.many))]
        if "containerd" not in skip and shutil.which("containerd"):
            runs.append(("containerd (CRI)", lambda: run_containerd(
                work / "c", path, tag, args.pods, args.many)))
        if "podman" not in skip and shutil.which("podman"):
            runs.append(("podman kube play", lambda: run_podman(
                work / "p", path, args.pods, args.many)))
        for name, run in runs:
            try:
                rows.append(Figures(name, **run()))
            except Exception as exc:  # one runtime failing still reports the others
                print(f"{name}: FAILED: {exc}", flush=True)
                continue
            print(render_table(rows[-1:], args.pods, args.many).splitlines()[-1], flush=True)
    finally:
        netns.delete_netns(node_ns)
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(render_table(rows, args.pods, args.many))
    for row in rows:
        if row.note:
            print(f"- {row.runtime}: {row.note}")
    print()
    for target, ok, value in check_targets(rows):
        print(f"{'met   ' if ok else 'MISSED'} {target}: {value}")
    if args.json:
        args.json.write_text(json.dumps([{**asdict(r), "p50": r.p50, "p99": r.p99}
                                         for r in rows], indent=1))


if __name__ == "__main__":
    t0 = time.monotonic()
    main()
    print(f"\n(bench ran {time.monotonic() - t0:.0f} s)")
