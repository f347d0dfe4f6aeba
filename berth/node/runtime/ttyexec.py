"""Exec with a terminal, the runtime's part: what environment the command gets.

The program-spawning half (pty pair, new session, controlling terminal,
``<runtime> exec --tty``) lives in ``berth.host.ttyexec`` and
``berth.host.oci.exec_tty``; ``OCIRuntimeService.exec_tty`` plans the
environment here (``plan_tty_env``, pure) and starts the command there.

``DEFAULT_SIZE`` and ``TtyProcess`` (the terminal handle the node endpoint
drives) are re-exported so the node endpoint names one runtime module for
everything tty exec.
"""

from __future__ import annotations

from collections.abc import Sequence

from berth.host.ttyexec import DEFAULT_SIZE, TtyProcess

__all__ = ["DEFAULT_SIZE", "TtyProcess", "plan_tty_env"]

TERM = "TERM=xterm"  # what containerd sets for a tty when the container has no TERM


def plan_tty_env(process_env: Sequence[str]) -> list[str]:
    """The container process's environment plus ``TERM=xterm`` unless it sets TERM.

    The whole environment is passed, not only TERM: crun's ``exec --env``
    replaces the container's environment where runc's adds to it.
    """
    env = [str(entry) for entry in process_env]
    if not any(entry.startswith("TERM=") for entry in env):
        env.append(TERM)
    return env
