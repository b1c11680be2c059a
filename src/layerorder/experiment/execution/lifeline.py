"""Worker processes die with their driver.

A ``compare`` killed with ``kill -9`` cannot clean up; its pool workers would be re-parented to
PID 1 and keep training (and holding memory) for nothing. Each of them calls ``die_with`` first,
naming its driver: on Linux the kernel sends it SIGKILL when its parent exits
(``prctl(PR_SET_PDEATHSIG)``), and everywhere a watchdog thread ends it within a second once its
parent has changed (its parent died) or the driver is gone, which needs no OS support.

The driver need not be the parent. A worker forked by the pool's fork server
(``fork_server.py``) has the server as its parent, and the server outlives the driver for as long
as any worker it forked holds multiprocessing's "alive" pipe open, so such a worker watches the
driver itself. The fork server ties itself to the driver with the watchdog alone
(``kernel=False``): the kernel's signal follows the *thread* that started a process, and the
server is shared by every pool the driver starts, from whichever thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
_HAS_PROC = os.path.exists("/proc/self/stat")
WATCH_INTERVAL = 1.0  # seconds between the watchdog's looks at the parent and the driver


def die_with(driver: int, *, kernel: bool = True) -> Callable[[], None]:
    """Arrange for this process to end when the process ``driver`` ends (at once if it has).
    Returns what ends the watchdog (the kernel's signal, where asked for, stays)."""
    if kernel and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no libc prctl: the watchdog alone
            pass
    parent = os.getppid()
    if not _alive(driver, parent):  # the driver died before the lines above took effect
        os._exit(1)
    stop = threading.Event()
    watchdog = threading.Thread(target=_watch, args=(driver, parent, stop), name="lifeline",
                                daemon=True)
    watchdog.start()

    def end() -> None:
        stop.set()
        watchdog.join()

    return end


def _alive(driver: int, parent: int) -> bool:
    """Whether ``driver`` still runs, this process's parent still being ``parent``."""
    if os.getppid() != parent:  # the parent died: this process was handed to another
        return False
    if driver == parent:
        return True
    if _HAS_PROC:  # a zombie (dead, not yet reaped by its own parent) counts as ended
        try:
            with open(f"/proc/{driver}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    try:  # no /proc (macOS): a signal 0 says whether the process exists
        os.kill(driver, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch(driver: int, parent: int, stop: threading.Event) -> None:
    while not stop.wait(WATCH_INTERVAL):
        if not _alive(driver, parent):
            os._exit(1)
