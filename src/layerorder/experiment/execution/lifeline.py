"""Worker processes die with their driver.

A ``compare`` killed with ``kill -9`` cannot clean up; its pool workers
would be re-parented to PID 1 and keep training (and holding memory) for nothing. Each of them
calls ``die_with_parent`` first: on Linux the kernel sends it SIGKILL when the driver exits
(``prctl(PR_SET_PDEATHSIG)``), and everywhere a watchdog thread ends it within a second once its
parent is gone (a changed parent process id), which needs no OS support.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL = 1.0  # seconds between the watchdog's looks at the parent


def die_with_parent(parent_pid: int) -> None:
    """Arrange for this process to end when ``parent_pid`` (its parent) ends."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no libc prctl: the watchdog alone
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), name="lifeline", daemon=True).start()


def _watch(parent_pid: int) -> None:
    while True:
        time.sleep(WATCH_INTERVAL)
        if os.getppid() != parent_pid:
            os._exit(1)
