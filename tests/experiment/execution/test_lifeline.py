"""``lifeline.die_with``: a process ends within a second of its driver, whether the driver is its
parent (a spawned worker) or not (a worker forked by the fork server, whose parent outlives the
driver), and a driver killed but not yet reaped (a zombie) counts as ended (where there is /proc:
without it a signal 0 finds a zombie as it finds a live process)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.reliability.processes import alive

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

# the driver starts a middle process that starts the worker and then outlives the driver
DRIVER = r'''
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]])
time.sleep(60)
'''
MIDDLE = r'''
import os, subprocess, sys, time
driver = os.getppid()
subprocess.Popen([sys.executable, "-c", sys.argv[1], str(driver), sys.argv[2]])
time.sleep(60)
'''
WORKER = r'''
import os, sys, time
from layerorder.experiment.execution.lifeline import die_with
die_with(int(sys.argv[1]))
open(sys.argv[2], "w").write(f"{os.getppid()} {os.getpid()}")
time.sleep(60)
'''


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_a_worker_whose_parent_outlives_the_driver_ends_with_the_driver(tmp_path, reaped):
    said = tmp_path / "pids"
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, MIDDLE, WORKER, str(said)])
    deadline = time.monotonic() + 60
    while not (said.exists() and said.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    middle, worker = map(int, said.read_text().split())
    try:
        time.sleep(1.5)  # the watchdog has looked at least once: the worker is still there
        assert alive([worker, middle]) == [worker, middle]
        os.kill(driver.pid, signal.SIGKILL)
        if reaped:
            driver.wait()
        killed = time.monotonic()
        while alive([worker]) and time.monotonic() - killed < 5:
            time.sleep(0.02)
        assert alive([worker]) == [], "the worker outlived its driver by 5 s"
        assert alive([middle]) == [middle]  # its parent still runs: the driver's death ended it
    finally:
        for pid in (worker, middle):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        driver.wait()


def test_without_proc_a_live_driver_is_alive_and_a_dead_one_is_not(monkeypatch):
    """Where there is no /proc (macOS), a driver that is not the parent is looked up with a
    signal 0: alive while it runs, not once it has ended and been reaped."""
    from layerorder.experiment.execution import lifeline

    def no_proc(*args, **kwargs):
        raise AssertionError("read /proc")

    monkeypatch.setattr(lifeline, "_HAS_PROC", False)
    monkeypatch.setattr(lifeline, "open", no_proc, raising=False)
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert lifeline._alive(driver.pid, os.getppid())
    finally:
        driver.kill()
        driver.wait()
    assert not lifeline._alive(driver.pid, os.getppid())
