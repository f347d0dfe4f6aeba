"""host-local's disk store, compatible with the reference plugin's files.

Layout under ``<dataDir>/<network name>/`` (dataDir defaults to
/var/lib/cni/networks): one file per reserved IP, named by the address and
holding ``containerID\\r\\nifname`` (the reference plugin's line break; ``\\n``
is read too), created with O_EXCL so two allocators can never both win an
address; ``last_reserved_ip.<range set index>`` remembers where the round-robin
search stopped.  ``lock()`` takes an exclusive flock on the network directory,
the same lock the reference plugin takes, so both can share a directory.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from berth.cni.errors import IOFailure
from berth.cni.spec import IPAddress

DEFAULT_DATA_DIR = "/var/lib/cni/networks"
LAST_PREFIX = "last_reserved_ip."


class DiskStore:
    def __init__(self, data_dir: str, network: str) -> None:
        self.dir = Path(data_dir) / network
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        except OSError as exc:
            raise IOFailure(f"ipam.dataDir: cannot create {self.dir}", exc.strerror or "") from exc

    @contextmanager
    def lock(self) -> Iterator[None]:
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _path(self, ip: IPAddress) -> Path:
        return self.dir / str(ip)

    def reserve(self, container_id: str, ifname: str, ip: IPAddress, range_id: str) -> bool:
        try:
            fd = os.open(self._path(ip), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, f"{container_id.strip()}\r\n{ifname}".encode())
        finally:
            os.close(fd)
        last = self.dir / f"{LAST_PREFIX}{range_id}"
        tmp = last.with_name(last.name + ".tmp")
        tmp.write_text(str(ip))
        os.replace(tmp, last)
        return True

    def last_reserved_ip(self, range_id: str) -> IPAddress | None:
        try:
            return ipaddress.ip_address(
                (self.dir / f"{LAST_PREFIX}{range_id}").read_text().strip())
        except (OSError, ValueError):
            return None

    def release(self, ip: IPAddress) -> None:
        with suppress(FileNotFoundError):
            self._path(ip).unlink()

    def attachments(self) -> list[tuple[IPAddress, str, str]]:
        out: list[tuple[IPAddress, str, str]] = []
        try:
            names = os.listdir(self.dir)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return out
            raise IOFailure(f"ipam.dataDir: cannot read {self.dir}", exc.strerror or "") from exc
        for name in names:
            try:
                ip = ipaddress.ip_address(name)
            except ValueError:
                continue
            try:
                text = (self.dir / name).read_text()
            except OSError:
                continue
            cid, _, ifname = text.replace("\r\n", "\n").strip().partition("\n")
            out.append((ip, cid.strip(), ifname.strip()))
        return out

    def get_by_id(self, container_id: str, ifname: str) -> list[IPAddress]:
        return [ip for ip, cid, ifn in self.attachments()
                if cid == container_id and (ifn == ifname or ifn == "")]
