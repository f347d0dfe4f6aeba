"""A private podman 4.3 (CNI network backend) for tests and benchmarks, in a berth network namespace.

Every podman command runs through ``nsenter --net=<netns>`` (the network
namespace alone, so the host's mounts stay visible) with a private
containers.conf (``network_backend = "cni"``, the given CNI bin and conf
dirs, ``default_ulimits`` for nofile and nproc, which this host needs, an
optional infra image for pods), private storage and runroot under one work
directory.  /etc/containers and /etc/cni/net.d are neither read nor touched.

``plan_containers_conf`` renders the config (pure); ``Podman`` runs
commands; ``stop`` removes every pod and container of this private store,
unmounts what podman left under the work directory and deletes it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from berth.host.mounts import unmount_under


class PodmanError(Exception):
    """A podman command failed; the message names it and carries its stderr."""


def plan_containers_conf(bin_dir: Path, conf_dir: Path, network: str,
                         infra_image: str = "", infra_command: str = "") -> str:
    engine = ['cgroup_manager = "cgroupfs"', 'events_logger = "file"', 'runtime = "runc"']
    if infra_image:
        engine.append(f'infra_image = "{infra_image}"')
    if infra_command:
        engine.append(f'infra_command = "{infra_command}"')
    return (f'[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
            f'[network]\nnetwork_backend = "cni"\ncni_plugin_dirs = ["{bin_dir}"]\n'
            f'network_config_dir = "{conf_dir}"\ndefault_network = "{network}"\n'
            "[engine]\n" + "\n".join(engine) + "\n")


class Podman:
    """podman over a private store under ``work``, in network namespace ``netns_path``."""

    def __init__(self, work: Path, netns_path: str, bin_dir: Path, conf_dir: Path,
                 network: str, *, infra_image: str = "", infra_command: str = "",
                 env: dict[str, str] | None = None) -> None:
        self.work, self.netns_path = work, netns_path
        for sub in ("storage", "run", "tmp"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        (work / "containers.conf").write_text(plan_containers_conf(
            bin_dir, conf_dir, network, infra_image, infra_command))
        (work / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\nrunroot = "{work}/run"\n'
            f'graphroot = "{work}/storage"\n')
        (work / "registries.conf").write_text("")
        self.env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                    "HOME": str(work), "CONTAINERS_CONF": str(work / "containers.conf"),
                    "CONTAINERS_STORAGE_CONF": str(work / "storage.conf"),
                    "CONTAINERS_REGISTRIES_CONF": str(work / "registries.conf"), **(env or {})}

    def command(self, *args: str) -> list[str]:
        return ["nsenter", f"--net={self.netns_path}", "podman",
                "--root", str(self.work / "storage"), "--runroot", str(self.work / "run"),
                "--tmpdir", str(self.work / "tmp"), "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", "--storage-driver", "overlay", *args]

    def __call__(self, *args: str, check: bool = True, timeout: float = 300) -> str:
        proc = subprocess.run(self.command(*args), capture_output=True, text=True,
                              env=self.env, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise PodmanError(f"podman {' '.join(args)}: {proc.stderr.strip()[-2000:]}")
        return proc.stdout

    def stop(self) -> None:
        """Remove every pod and container of this store, then the work directory."""
        try:
            self("pod", "rm", "--all", "--force", "--time", "0", check=False)
            self("rm", "--all", "--force", "--time", "0", check=False)
        finally:
            unmount_under(self.work)
            shutil.rmtree(self.work, ignore_errors=True)
