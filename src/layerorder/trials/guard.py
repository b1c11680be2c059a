"""The guard between a layerorder process and a user's command: ``python guard.py -- ARGV...``.

It starts the command in a process group of its own and ends that whole group (the command and
anything it started) when any of these happens, so that no process of a run outlives it:
- the command exits (whatever it left running in its group is ended too);
- the guard gets SIGTERM or SIGINT (the run timed out, or the sweep was stopped);
- the process that started the guard dies, even by SIGKILL: the kernel sends the guard SIGTERM
  (``PR_SET_PDEATHSIG``), and the guard also watches its parent's pid.

The guard exits with the command's status (128 + N for a command ended by signal N). Standard
library only, and run by its path, so it starts in milliseconds without importing layerorder.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

GRACE = 3.0  # seconds between SIGTERM and SIGKILL for the command's group


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent-pid watch below still works
        pass


def _end_group(proc: subprocess.Popen) -> None:
    """SIGTERM the command's group, then SIGKILL whatever is left of it after ``GRACE`` seconds.
    The command itself is reaped as it ends (a zombie leader would keep the group "alive")."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.stderr.write("usage: guard.py -- COMMAND [ARG...]\n")
        return 2
    command = argv[argv.index("--") + 1:]
    stopped: list[int] = []

    def stop(signum, _frame) -> None:
        stopped.append(signum)

    # before anything starts: a stop that arrives while the command starts is kept, not fatal
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the death signal was armed
        return 143
    try:
        proc = subprocess.Popen(command, start_new_session=True)
    except OSError as exc:
        sys.stderr.write(f"cannot start {command[0]!r}: {exc}\n")
        return 127
    while proc.poll() is None and not stopped:
        if os.getppid() != parent:
            stopped.append(signal.SIGTERM)
            break
        time.sleep(0.1)
    _end_group(proc)
    code = proc.wait()
    if stopped:
        return 128 + stopped[0]
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
