"""Who holds a running run: owner strings ``"host:pid:token"`` and their staleness.

A run marked ``running`` whose owner is a process on this host that no longer exists (killed,
crashed) is stale and may be claimed again. On Linux the token records the owning process's start
time (``st<ticks>`` from ``/proc/<pid>/stat``), so a pid reused by a later process (common after a
container restart) is also recognised as stale. Owners on other hosts are never judged stale: we
cannot see their processes. On Windows nothing is judged stale (there ``os.kill(pid, 0)`` would
terminate the process).
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    """The process start time in clock ticks since boot (Linux), or None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


HOST_ID_VARIABLE = "LAYERORDER_HOST_ID"


def host_id() -> str:
    """The name this host claims runs under: ``LAYERORDER_HOST_ID`` when set (containers that
    share a hostname, or a SLURM job step that should be told apart), else the hostname."""
    return os.environ.get(HOST_ID_VARIABLE) or socket.gethostname()


def make_owner() -> str:
    """The owner string for this process: ``"host:pid:token"`` (``host_id``)."""
    pid = os.getpid()
    ticks = _start_ticks(pid)
    token = f"st{ticks}" if ticks is not None else f"r{secrets.token_hex(6)}"
    return f"{host_id()}:{pid}:{token}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to another user
        return True
    return True


def is_stale_owner(owner: str | None) -> bool:
    """True when ``owner`` is a process on this host that is gone (or whose pid was reused)."""
    if owner is None:
        return True
    if os.name == "nt":
        return False
    host, pid_text, token = _split(owner)
    if host != host_id() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid <= 0 or not _pid_alive(pid):
        return True
    if token.startswith("st"):
        ticks = _start_ticks(pid)
        return ticks is not None and token != f"st{ticks}"
    return False


def is_local_owner(owner: str | None) -> bool:
    """True when ``owner`` names a process on this host."""
    return owner is not None and _split(owner)[0] == host_id()


def _split(owner: str) -> tuple[str, str, str]:
    parts = owner.rsplit(":", 2)
    if len(parts) != 3:
        return "", "", ""
    return parts[0], parts[1], parts[2]
