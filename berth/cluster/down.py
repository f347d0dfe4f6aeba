"""``berth down``: undo exactly what ``berth up`` recorded, even a half-made cluster.

``bring_down`` reads the ``ClusterState`` and removes, in order: the
processes (SIGTERM, then SIGKILL after a grace period; only the PIDs it
started, checked against their recorded start time), the pods the node
agents left running (their sandboxes and containers, through the node's own
runtime state), each node's cgroups, after ``init``/``join`` the pod network
of this machine (owned routes, ``bth.vxlan``, ``bth0``), the namespaces and
the host link of a one-machine cluster, the
directories and files, and last the state file.  Every step tolerates what is
already gone, and a failing step does not stop the others: what could not be
removed is listed in the returned problems.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

from berth.cluster import topology
from berth.cluster.errors import NoCluster
from berth.cluster.state import (
    ClusterState,
    NodeRecord,
    Process,
    load_state,
    process_alive,
    remove_state,
    save_state,
)
from berth.host import netns

Report = Callable[[str], None]
GRACE_SECONDS = 10.0


def stop_processes(procs: list[Process], grace: float = GRACE_SECONDS) -> list[str]:
    """SIGTERM each live process, SIGKILL what is left after ``grace``; reap our children."""
    live = [p for p in procs if process_alive(p)]
    for p in live:
        _signal(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(process_alive(p) for p in live):
        _reap()
        time.sleep(0.05)
    for p in live:
        if process_alive(p):
            _signal(p, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(process_alive(p) for p in live):
        _reap()
        time.sleep(0.05)
    return [f"{p.role} pid {p.pid} did not stop" for p in live if process_alive(p)]


def _signal(proc: Process, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, sig)


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


async def _remove_pods(state: ClusterState, nodes: list[NodeRecord] | None = None
                       ) -> list[str]:
    from berth.images import ImageStore
    from berth.node.runtime import OCIRuntimeService

    problems = []
    images = ImageStore(Path(state.home) / "images")
    for rec in state.nodes if nodes is None else nodes:
        runtime_dir = Path(rec.root_dir) / "runtime"
        if not runtime_dir.exists():
            continue
        service = OCIRuntimeService(runtime_dir, Path(rec.run_dir), images, node_name=rec.name)
        try:
            for sandbox in await service.list_pod_sandbox():
                await service.remove_pod_sandbox(sandbox.id)
            for container in await service.list_containers():
                await service.remove_container(container.id)
        except Exception as exc:
            problems.append(f"pods of {rec.name}: {exc}")
    return problems


def _remove_cgroups(state: ClusterState, nodes: list[NodeRecord] | None = None) -> list[str]:
    from berth.host.cgroups import remove_empty_cgroup, teardown_cgroup_tree

    problems = []
    for rec in state.nodes if nodes is None else nodes:
        try:
            teardown_cgroup_tree(f"/berth/{rec.name}")
        except Exception as exc:
            problems.append(f"cgroups of {rec.name}: {exc}")
    # Other clusters' or tests' nodes may still use /berth: then it stays.
    with contextlib.suppress(Exception):
        remove_empty_cgroup("/berth")
    return problems


def _remove_local_network() -> list[str]:
    """After init/join: the agent's routes, the VXLAN device and the CNI bridge of this netns."""
    from berth.cni.defaults import BRIDGE as CNI_BRIDGE
    from berth.host.errors import HostError
    from berth.host.fabric import Fabric
    from berth.netagent.apply import teardown_local
    from berth.netagent.errors import ApplyError

    try:
        with Fabric.open() as fab:
            teardown_local(fab)
            fab.delete_link(CNI_BRIDGE)
    except (HostError, ApplyError) as exc:
        return [f"network of this machine: {exc}"]
    return []


def bring_down(home: Path, report: Report) -> list[str]:
    state = load_state(home)
    if state is None:
        raise NoCluster(f"no cluster is up (no {home}/cluster.json)")
    problems: list[str] = []
    agents = [p for p in state.processes if p.role not in ("server", "etcd")]
    report(f"stopping {len(agents)} node processes")
    problems += stop_processes(agents)
    report("removing pods")
    problems += asyncio.run(_remove_pods(state))
    problems += _remove_cgroups(state)
    if state.kind in ("init", "join"):
        report("removing this machine's pod network (routes, bth.vxlan, bth0)")
        problems += _remove_local_network()
    report("stopping the API server")
    problems += stop_processes([p for p in state.processes if p.role == "server"])
    etcd = [p for p in state.processes if p.role == "etcd"]
    if etcd:
        report(f"stopping {len(etcd)} etcd member(s)")
        problems += stop_processes(etcd)
    if state.fabric_netns:
        report(f"removing namespaces {state.fabric_netns} and "
               f"{', '.join(n.netns for n in state.nodes) or 'no nodes'}")
        leftovers = [ns for rec in state.nodes for ns in netns.list_netns(f"{rec.netns}-")]
        problems += topology.teardown_topology(
            state.fabric_netns, [*leftovers, *(n.netns for n in state.nodes)], state.host_link)
    report("removing files")
    for path in map(Path, state.paths):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()
    if not problems:
        remove_state(home)
    return problems


async def _delete_from_api(state: ClusterState, name: str) -> list[str]:
    """The Node and the pods bound to it (grace 0: their containers are already gone)."""
    from berth.api.errors import APIError, NotFound
    from berth.api.resources import by_key
    from berth.client import Client, ClientError, load_config

    pods, nodes = by_key("pods"), by_key("nodes")
    assert pods is not None and nodes is not None
    problems = []
    async with Client(load_config(state.kubeconfig, {})) as client:
        try:
            listed = await client.list(pods, field_selector=f"spec.nodeName={name}")
            for pod in listed.get("items") or []:
                meta = pod["metadata"]
                with contextlib.suppress(NotFound):
                    await client.delete(pods, meta["namespace"], meta["name"], grace_period=0)
            with contextlib.suppress(NotFound):
                await client.delete(nodes, None, name)
        except (APIError, ClientError) as exc:
            problems.append(f"Node {name} in the API: {exc}")
    return problems


def remove_node(home: Path, name: str, report: Report) -> list[str]:
    """``berth down --node NAME``: one node of a one-machine cluster, every trace of it.

    Its process stops, its pods and cgroups go, its Node and pods leave the API
    (the peers' network agents then remove their routes and FDB entries to
    it), and its namespaces, veth to the fabric and directories are removed.
    """
    state = load_state(home)
    if state is None or state.kind != "up":
        raise NoCluster(f"no one-machine cluster is up (no {home}/cluster.json from `berth up`)")
    rec = next((n for n in state.nodes if n.name == name), None)
    if rec is None:
        raise NoCluster(f"--node: {name!r} is not a node of this cluster "
                        f"({', '.join(n.name for n in state.nodes) or 'none'})")
    report(f"stopping the node process of {name}")
    procs = [p for p in state.processes if p.node == name]
    problems = stop_processes(procs)
    report(f"removing the pods of {name}")
    problems += asyncio.run(_remove_pods(state, [rec]))
    problems += _remove_cgroups(state, [rec])
    report(f"deleting Node {name} and its pods from the API")
    problems += asyncio.run(_delete_from_api(state, name))
    report(f"removing namespace {rec.netns}")
    leftovers = netns.list_netns(f"{rec.netns}-")
    problems += topology.teardown_topology("", [*leftovers, rec.netns], "")
    for path in (rec.root_dir, rec.run_dir):
        shutil.rmtree(path, ignore_errors=True)
    if not problems:
        state.nodes = [n for n in state.nodes if n.name != name]
        state.processes = [p for p in state.processes if p not in procs]
        save_state(state)
    return problems
