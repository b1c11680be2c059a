"""SIGKILL of the driver while its pool is still starting: no worker, no fork server and no
resource tracker held open by one outlives it.

The pool's fork server ties itself to its driver (``lifeline.die_with``, a watchdog) before it
imports torch (``fork_server.py``), and a worker it forks does so as the first thing
``pool_worker.worker_main`` does; a spawned worker (where there is no fork server) does too, having
before that only started Python, imported the driver's main module and unpickled its entry point.
None of that may import torch, which takes seconds (a minute on a loaded machine) and would leave
an orphan for as long. The kills fall at seeded random points from the moment the first process
of the pool appears until its start-up is well over, one in each of ``KILLS`` equal slices of that
window (so the first instants, where nothing is tied yet, are always among them), and as many from
the moment the first worker itself appears (forked from the server, or spawned where there is
none), whose own start the server's import would otherwise hide; every process the sweep had must
be gone 10 s later (in practice within the watchdog's second and a little more: the time each
took is in the assertion message).
"""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from tests.gate import gated_compare, gated_env, make_gate
from tests.reliability.processes import children, descendants, kill_and_wait

pytestmark = pytest.mark.slow

KILLS = 2  # in each of the two windows
SEED = 20261205
# seconds after the first process of the pool appears (the fork server: its import of torch, on
# this machine) and after the first worker does (its own start: tied to its driver, then torch)
WINDOWS = {"pool": 2.5, "worker": 1.0}
GONE_WITHIN = 10.0


def _kill_during_start_up(cmd, env, delay: float, after: str) -> tuple[int, float]:
    """Start the sweep, kill its driver ``delay`` s after the first process of its pool (``after
    = "pool"``) or its first worker (``"worker"``) appears; return the processes it had (seen at
    any moment before the kill) and how long they took to end."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    family: set[int] = set()
    first = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        family |= set(descendants(proc.pid))
        started = family if after == "pool" else children(proc.pid, tracker=False)
        if first is None and started:
            first = time.monotonic()
        if first is not None and time.monotonic() - first >= delay:
            break
        time.sleep(0.01)
    assert first is not None, f"the sweep started no {after} process"
    family |= set(descendants(proc.pid))
    return len(family), kill_and_wait(proc, family, GONE_WITHIN)


def test_kills_through_the_workers_start_up_leave_no_process(tmp_path):
    gate = make_gate(tmp_path / "gate")  # closed: runs that get as far as training wait there
    cmd = gated_compare(tmp_path / "s.db", "--executor", "process", "--workers", "2", seeds=4)
    rng = random.Random(SEED)
    took = []
    for after, window in WINDOWS.items():
        for k in range(KILLS):
            delay = rng.uniform(k, k + 1) * window / KILLS
            processes, seconds = _kill_during_start_up(cmd, gated_env(gate), delay, after)
            took.append((after, round(delay, 2), processes, round(seconds, 2)))
            assert seconds < GONE_WITHIN, (
                f"processes outlived the driver by {GONE_WITHIN} s: {took}")
    print(f"(kill after the first ... appears, delay s, processes, s until all gone): {took}",
          file=sys.stderr)


def test_what_a_worker_imports_before_it_is_tied_to_its_driver_has_no_torch():
    """Unpickling the worker's entry point and importing the command's main module (spawn's
    preparation) import neither torch nor anything that does."""
    code = ("import sys, layerorder.cli.app, layerorder.experiment.execution.pool_worker;"
            " print(sorted(m for m in ('torch', 'scipy', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "torch" not in out.stdout and "scipy" not in out.stdout
