"""A program on a pseudo-terminal of its own: pty allocation, session, controlling terminal.

This is the host side of exec with a terminal.  ``runc exec --tty`` (and
``crun exec --tty``) run in the foreground allocate the container's terminal
themselves, inside the container's /dev/pts (so ``tty`` names ``/dev/pts/0``
there), put their own terminal in raw mode, copy bytes between the two and
copy their own terminal's size to the container's on start and on every
SIGWINCH.  So the runtime needs a terminal of its own: ``start_tty_process``
opens a pty pair (for a runtime: raw before it starts, because output that the
container writes before the runtime has made its terminal raw would otherwise
be translated twice, ``\r\r\n``), starts the program in a new session with the slave as
stdin/stdout/stderr and controlling terminal, and keeps the master.
``TtyProcess`` is that master: ``read`` (b"" once the program has exited and
the slave is gone), ``write`` (the user's keystrokes), ``resize``
(TIOCSWINSZ, which makes the kernel send the program its SIGWINCH),
``send_eof``, ``wait`` (the exit status), ``kill`` and ``close``.

``berth.host.oci.exec_tty`` builds the runtime's command line and starts it
here; the node agent only plans what to run (``berth.node.runtime``).  The
master is non-blocking and driven by the event loop's reader/writer
callbacks, so a command that never reads its input cannot stall the agent.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import struct
import termios
import tty
from collections.abc import Sequence

DEFAULT_SIZE = (80, 24)
EOF_CHAR = b"\x04"  # what ^D sends: EOF for a reader in canonical mode


def _make_controlling_terminal() -> None:
    """Runs in the child after setsid: stdin (the slave) becomes its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def set_window_size(fd: int, width: int, height: int) -> None:
    """TIOCSWINSZ on a terminal fd; the kernel signals SIGWINCH to its foreground group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


class TtyProcess:
    """A process whose terminal is a pty whose master this object holds."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int) -> None:
        self.proc = proc
        self.master = master
        self._closed = False

    async def _ready(self, add: str, remove: str) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        getattr(loop, add)(self.master, wake)
        try:
            await done
        finally:
            getattr(loop, remove)(self.master)

    async def read(self) -> bytes:
        """The terminal's next output; b"" when the program and its terminal are gone."""
        while not self._closed:
            try:
                return os.read(self.master, 65536)
            except BlockingIOError:
                pass
            except OSError as exc:  # EIO: every slave fd is closed
                if exc.errno == errno.EIO:
                    return b""
                raise
            await self._ready("add_reader", "remove_reader")
        return b""

    async def write(self, data: bytes) -> None:
        """Type ``data`` into the terminal (as the user's keystrokes)."""
        view = memoryview(data)
        while view and not self._closed:
            try:
                view = view[os.write(self.master, view):]
            except BlockingIOError:
                await self._ready("add_writer", "remove_writer")
            except OSError as exc:
                if exc.errno == errno.EIO:
                    return  # the process is gone; its input no longer matters
                raise

    async def send_eof(self) -> None:
        """The client closed stdin: what ^D does for the program reading the terminal."""
        await self.write(EOF_CHAR)

    def resize(self, width: int, height: int) -> None:
        if not self._closed and width > 0 and height > 0:
            set_window_size(self.master, width, height)

    async def wait(self) -> int:
        return await self.proc.wait()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self.master)


async def start_tty_process(argv: Sequence[str], size: tuple[int, int] = DEFAULT_SIZE,
                            *, raw: bool = False) -> TtyProcess:
    """Start ``argv`` in a new session whose controlling terminal is a fresh pty.

    ``size`` is (width, height), set on the terminal before the program starts;
    ``raw`` puts it in raw mode first (no echo, no line editing, no output
    translation), as a runtime does with its own terminal once it runs.
    """
    master, slave = os.openpty()
    try:
        if raw:
            tty.setraw(slave)
        set_window_size(master, *size)
        os.set_blocking(master, False)
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            preexec_fn=_make_controlling_terminal)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    return TtyProcess(proc, master)
