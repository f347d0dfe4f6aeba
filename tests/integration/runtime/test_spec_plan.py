"""Planning OCI specs (pure): Kubernetes' override rules, users, namespaces, files."""

from __future__ import annotations

import pytest

from berth.images import ImageConfig
from berth.node.runtime.errors import InvalidConfig
from berth.node.runtime.protocol import (
    ContainerConfig,
    ContainerMetadata,
    DNSConfig,
    HostAlias,
    LinuxContainerResources,
    LinuxContainerSecurityContext,
    Mount,
)
from berth.node.runtime.spec import (
    SandboxPaths,
    plan_args,
    plan_container_spec,
    plan_env,
    plan_process,
    render_hosts,
    render_resolv_conf,
    resolve_user,
)
from berth.node.runtime.state import from_jsonable, to_jsonable

IMAGE = ImageConfig(entrypoint=["/entry"], cmd=["--default"], env=["PATH=/bin", "A=image"],
                    working_dir="/srv", user="www-data")
PASSWD = "root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\n"
GROUP = "root:x:0:\nwww-data:x:33:\nstaff:x:50:\n"


@pytest.mark.parametrize(("command", "args", "argv"), [
    ([], [], ["/entry", "--default"]),
    ([], ["--flag"], ["/entry", "--flag"]),
    (["/bin/sh"], [], ["/bin/sh"]),  # command drops the image's Cmd
    (["/bin/sh"], ["-c", "x"], ["/bin/sh", "-c", "x"]),
])
def test_command_and_args_follow_kubernetes(command: list[str], args: list[str],
                                            argv: list[str]) -> None:
    assert plan_args(IMAGE, command, args, "c") == argv


def test_no_command_anywhere_is_a_clear_error() -> None:
    with pytest.raises(InvalidConfig, match=r"container 'x'.*no command"):
        plan_process(ImageConfig(), ContainerConfig(ContainerMetadata("x"), "img"), "pod")


def test_env_merges_image_hostname_and_container_in_order() -> None:
    env = plan_env(["PATH=/bin", "A=image"], {"A": "mine", "B": "b"}, "pod-1", tty=False)
    assert env == ["PATH=/bin", "A=mine", "HOSTNAME=pod-1", "B=b"]


def test_users_resolve_from_the_image_files() -> None:
    assert resolve_user("www-data", PASSWD, GROUP, "c") == (33, 33)
    assert resolve_user("33:staff", PASSWD, GROUP, "c") == (33, 50)
    assert resolve_user("", PASSWD, GROUP, "c") == (0, 0)
    with pytest.raises(InvalidConfig, match="user 'ghost' not found"):
        resolve_user("ghost", PASSWD, GROUP, "c")
    config = ContainerConfig(ContainerMetadata("c"), "img", security=LinuxContainerSecurityContext(
        run_as_user=1000, run_as_group=1001))
    process = plan_process(IMAGE, config, "pod", PASSWD, GROUP)
    assert (process.uid, process.gid, process.cwd) == (1000, 1001, "/srv")


PATHS = SandboxPaths(pause_pid=42, netns_path="/run/netns/berth-n-1", hosts="/s/hosts",
                     hostname="/s/hostname", resolv_conf="/s/resolv.conf", shm="/s/shm",
                     share_pid=False)


def test_container_joins_the_sandbox_namespaces() -> None:
    config = ContainerConfig(
        ContainerMetadata("c"), "img", command=["x"],
        mounts=[Mount("/data", "/host/data", readonly=True)],
        resources=LinuxContainerResources(memory_limit_in_bytes=1 << 20, cpu_quota=50000),
        security=LinuxContainerSecurityContext(readonly_rootfs=True))
    process = plan_process(IMAGE, config, "pod", PASSWD, GROUP)
    spec = plan_container_spec(config, process, "/rootfs", PATHS, "/berth/n/pod1/c1")
    namespaces = {ns["type"]: ns.get("path") for ns in spec["linux"]["namespaces"]}
    assert namespaces == {"pid": None, "ipc": "/proc/42/ns/ipc", "uts": "/proc/42/ns/uts",
                          "network": "/run/netns/berth-n-1", "mount": None}
    shared = plan_container_spec(config, process, "/rootfs",
                                 SandboxPaths(**{**PATHS.__dict__, "share_pid": True}), "/c")
    assert {"type": "pid", "path": "/proc/42/ns/pid"} in shared["linux"]["namespaces"]
    binds = {m["destination"]: (m["source"], m["options"][-1]) for m in spec["mounts"]
             if m["type"] == "bind"}
    assert binds["/etc/hosts"] == ("/s/hosts", "rw") and binds["/data"] == ("/host/data", "ro")
    assert spec["root"] == {"path": "/rootfs", "readonly": True}
    assert spec["linux"]["resources"]["memory"] == {"limit": 1 << 20}
    assert spec["linux"]["resources"]["cpu"] == {"quota": 50000, "period": 100000}
    assert spec["process"]["user"] == {"uid": 33, "gid": 33}


def test_relative_mount_path_is_refused() -> None:
    config = ContainerConfig(ContainerMetadata("c"), "img", command=["x"],
                             mounts=[Mount("data", "/host")])
    process = plan_process(IMAGE, config, "pod", PASSWD, GROUP)
    with pytest.raises(InvalidConfig, match="mount path 'data' must be absolute"):
        plan_container_spec(config, process, "/rootfs", PATHS, "/c")


def test_pod_files_render_like_the_kubelet() -> None:
    hosts = render_hosts("web", "10.244.1.5", [HostAlias("10.0.0.9", ["db", "db.local"])])
    assert "127.0.0.1\tlocalhost\n" in hosts
    assert hosts.endswith("10.244.1.5\tweb\n10.0.0.9\tdb db.local\n")
    dns = DNSConfig(servers=["10.96.0.10"], searches=["default.svc.cluster.local"],
                    options=["ndots:5"])
    assert render_resolv_conf(dns) == ("nameserver 10.96.0.10\n"
                                       "search default.svc.cluster.local\noptions ndots:5\n")
    assert render_resolv_conf(None, "nameserver 127.0.0.53\n") == "nameserver 127.0.0.53\n"


def test_configs_round_trip_through_state_files() -> None:
    config = ContainerConfig(ContainerMetadata("c", 2), "img", envs={"A": "1"},
                             mounts=[Mount("/d", "/h", True)], labels={"k": "v"},
                             security=LinuxContainerSecurityContext(run_as_user=5))
    assert from_jsonable(ContainerConfig, to_jsonable(config)) == config
