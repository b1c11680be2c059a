"""Processes as the fault tests see them (Linux ``/proc``): children, descendants, liveness."""

from __future__ import annotations

import os


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first), or None."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def zombie(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] == "Z"


def alive(pids) -> list[int]:
    """The processes of ``pids`` that still run (zombies count as ended)."""
    return [pid for pid in pids if (fields := _stat(pid)) is not None and fields[0] != "Z"]


def _cmdline(pid: int | str) -> bytes:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""


def is_resource_tracker(pid: int | str) -> bool:
    """multiprocessing's resource tracker: one per interpreter, shared by every pool; it ends
    when its parent does."""
    return b"resource_tracker" in _cmdline(pid)


def is_fork_server(pid: int | str) -> bool:
    """multiprocessing's fork server: one per interpreter, shared by every pool, the parent of
    the pool's workers; it ends when its parent and every worker it forked have."""
    return b"multiprocessing.forkserver" in _cmdline(pid)


def children(pid: int, *, tracker: bool = True) -> list[int]:
    """Live children of ``pid``. Without ``tracker``: not multiprocessing's helpers, the
    resource tracker and the fork server, but the workers the fork server forked for ``pid``
    in their place."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(entry)
        if fields is None or int(fields[1]) != pid or fields[0] == "Z":
            continue
        if tracker or not (is_resource_tracker(entry) or is_fork_server(entry)):
            found.append(int(entry))
        elif is_fork_server(entry):
            found += children(int(entry))
    return found


def descendants(pid: int) -> list[int]:
    """Live children of ``pid``, their children, and so on."""
    found, frontier = [], [pid]
    while frontier:
        kids = children(frontier.pop())
        found += kids
        frontier += kids
    return found


def kill_and_wait(proc, family, within: float = 10.0) -> float:
    """SIGKILL ``proc`` (a ``subprocess.Popen``) and wait until every process of ``family`` has
    ended or ``within`` seconds have passed; returns the seconds waited (the caller asserts on
    ``alive(family)``)."""
    import time

    proc.kill()
    proc.wait(timeout=30)
    killed = time.monotonic()
    while alive(family) and time.monotonic() - killed < within:
        time.sleep(0.02)
    return time.monotonic() - killed
