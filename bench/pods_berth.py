"""bench/pods, berth's side: a real ``berth server`` and ``berth node``, pods through the API.

``run_berth`` starts the server (sqlite, loopback, a throwaway data dir) and
the node agent (root dir under the bench's work dir, runc state under
/run/berth-bench-<tag>, CNI in the node namespace), waits for the Node, then
one watch on the namespace's pods feeds ``Tracker``, which resolves a future
per pod name once its Ready condition is True (or once it is DELETED).
Pods are created one after the other (latency), then all at once (time until
every one is Ready), measured, deleted.  Teardown stops the two PIDs it
started and removes whatever the agent left (sandboxes through a runtime
over its state, cgroups, runc root).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import _listening, free_port
from bench.procmem import hwm_kib, pss_kib, rss_kib
from berth.api.errors import NotFound
from berth.api.resources import Resource, by_key
from berth.client import Client, load_config
from berth.host.cgroups import remove_empty_cgroup, teardown_cgroup_tree
from berth.images import ImageStore
from berth.node.runtime import OCIRuntimeService
from berth.node.runtime.state import StateDir

Obj = dict[str, Any]


def _resource(key: str) -> Resource:
    found = by_key(key)
    assert found is not None, key
    return found


PODS = _resource("pods")
NODES = _resource("nodes")
BERTH = str(Path(sys.executable).with_name("berth"))


def pod_manifest(name: str, node: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"bench": "pods"}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "app", "image": "busybox",
                                     "command": ["sleep", "3600"]}]}}


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


class Tracker:
    """Futures resolved (with perf_counter time) when a pod turns Ready or is deleted."""

    def __init__(self) -> None:
        self.ready: dict[str, asyncio.Future[float]] = {}
        self.gone: dict[str, asyncio.Future[float]] = {}

    def expect(self, table: dict[str, asyncio.Future[float]], name: str
               ) -> asyncio.Future[float]:
        table[name] = asyncio.get_running_loop().create_future()
        return table[name]

    def feed(self, event: Obj) -> None:
        obj = event.get("object") or {}
        name = (obj.get("metadata") or {}).get("name", "")
        table = self.gone if event.get("type") == "DELETED" else (
            self.ready if is_ready(obj) else None)
        if table is not None and name in table and not table[name].done():
            table[name].set_result(time.perf_counter())


async def watch(client: Client, tracker: Tracker, rv: str) -> None:
    async for event in client.watch(PODS, "default", resource_version=rv):
        tracker.feed(event)


def start_server(data: Path) -> tuple[subprocess.Popen[bytes], Path]:
    port = free_port()
    kubeconfig = data / "kubeconfig"
    proc = subprocess.Popen([BERTH, "server", "--data-dir", str(data / "server"),
                             "--listen", f"127.0.0.1:{port}", "--datastore", "sqlite",
                             "--kubeconfig", str(kubeconfig)],
                            stdout=subprocess.DEVNULL, stderr=(data / "server.log").open("wb"),
                            env={**os.environ, "BERTH_HOME": str(data)})
    deadline = time.monotonic() + 60
    while not kubeconfig.exists() or not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"berth server did not start: "
                               f"{(data / 'server.log').read_text()[-2000:]}")
        time.sleep(0.05)
    return proc, kubeconfig


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def overhead_kib(runtime_root: Path) -> tuple[float, int]:
    """PSS of every pause and monitor in the agent's state, and the number of sandboxes."""
    state = StateDir(runtime_root)
    pids: set[int] = set()
    sandboxes = 0
    for record in state.load_sandboxes().values():
        sandboxes += 1
        pids.update(p for p in (record.pause_pid, record.monitor_pid) if p)
    for container in state.load_containers().values():
        if container.monitor_pid:
            pids.add(container.monitor_pid)
    return sum(pss_kib(p) for p in pids) / max(sandboxes, 1), sandboxes


async def drive(client: Client, node: str, n: int, many: int, runtime_root: Path,
                agent: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        try:
            await client.get(NODES, None, node)
            break
        except NotFound:
            if time.monotonic() > deadline or agent.poll() is not None:
                raise RuntimeError("the node never registered") from None
            await asyncio.sleep(0.1)
    tracker = Tracker()
    listed = await client.list(PODS, "default")
    watcher = asyncio.create_task(watch(client, tracker, listed["metadata"]["resourceVersion"]))
    try:
        return await _measure(client, tracker, node, n, many, runtime_root, agent)
    finally:
        watcher.cancel()


async def _create_ready(client: Client, tracker: Tracker, name: str, node: str) -> float:
    ready = tracker.expect(tracker.ready, name)
    start = time.perf_counter()
    await client.create(PODS, pod_manifest(name, node))
    return (await asyncio.wait_for(ready, 120) - start) * 1000


async def _delete_all(client: Client, tracker: Tracker, names: list[str]) -> float:
    gone = [tracker.expect(tracker.gone, name) for name in names]
    start = time.perf_counter()
    await asyncio.gather(*(client.delete(PODS, "default", name) for name in names))
    return max(await asyncio.wait_for(asyncio.gather(*gone), 180)) - start


async def _measure(client: Client, tracker: Tracker, node: str, n: int, many: int,
                   runtime_root: Path, agent: subprocess.Popen[bytes]) -> dict[str, Any]:
    await _create_ready(client, tracker, "warmup", node)  # image snapshot, caches
    await _delete_all(client, tracker, ["warmup"])
    start_ms = [await _create_ready(client, tracker, f"seq-{i}", node) for i in range(n)]
    await _delete_all(client, tracker, [f"seq-{i}" for i in range(n)])
    names = [f"many-{i}" for i in range(many)]
    ready = [tracker.expect(tracker.ready, name) for name in names]
    gate = asyncio.Semaphore(16)

    async def create(name: str) -> None:
        async with gate:
            await client.create(PODS, pod_manifest(name, node))

    start = time.perf_counter()
    await asyncio.gather(*(create(name) for name in names))
    many_ready = max(await asyncio.wait_for(asyncio.gather(*ready), 300)) - start
    await asyncio.sleep(1.0)  # let status writes settle before reading memory
    overhead, sandboxes = overhead_kib(runtime_root)
    rss, hwm = rss_kib(agent.pid) / 1024, hwm_kib(agent.pid) / 1024
    delete_s = await _delete_all(client, tracker, names)
    return {"start_ms": start_ms, "many_ready_s": many_ready, "daemon": "berth node",
            "daemon_rss_mib": rss, "overhead_kib": overhead, "many_delete_s": delete_s,
            "note": f"node agent RSS {rss:.1f} MiB (peak {hwm:.1f} MiB) with "
                    f"{sandboxes} sandboxes; start = API create until Ready on a watch"}


def run_berth(work: Path, node_ns: str, tag: str, n: int, many: int) -> dict[str, Any]:
    work.mkdir(parents=True)
    node = f"bp{tag}"
    run_dir = Path(f"/run/berth-bench-{tag}")
    root = work / "agent"
    server, agent = None, None
    try:
        server, kubeconfig = start_server(work)
        with (work / "agent.log").open("wb") as log:
            agent = subprocess.Popen(
                [BERTH, "node", "--name", node, "--kubeconfig", str(kubeconfig),
                 "--root-dir", str(root), "--run-dir", str(run_dir),
                 "--image-dir", str(work / "images"), "--node-netns", node_ns,
                 "--port", str(free_port())], stdout=log, stderr=subprocess.STDOUT)
        print("berth: server and node agent started", flush=True)

        async def main() -> dict[str, Any]:
            async with Client(load_config(str(kubeconfig), {})) as client:
                assert agent is not None
                return await drive(client, node, n, many, root / "runtime", agent)

        try:
            return asyncio.run(main())
        except BaseException:
            print((work / "agent.log").read_text(errors="replace")[-4000:])
            raise
    finally:
        stop(agent)
        stop(server)
        if (root / "runtime").exists():
            asyncio.run(_remove_everything(OCIRuntimeService(
                root / "runtime", run_dir, ImageStore(work / "images"), node_name=node)))
        teardown_cgroup_tree(f"/berth/{node}")
        remove_empty_cgroup("/berth")
        subprocess.run(["rm", "-rf", str(run_dir)], check=False)


async def _remove_everything(service: OCIRuntimeService) -> None:
    for sandbox in await service.list_pod_sandbox():
        await service.remove_pod_sandbox(sandbox.id)
    for container in await service.list_containers():
        await service.remove_container(container.id)
