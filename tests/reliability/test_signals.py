"""Signals to the driver: SIGTERM hands runs back like Ctrl-C; after SIGKILL no worker lives on."""

import signal
import subprocess
import time

import pytest

from layerorder.experiment.execution import executors
from layerorder.store import Store
from tests.gate import gated_compare, gated_env, make_gate, wait_until
from tests.reliability.processes import alive, children, descendants, is_fork_server, kill_and_wait

pytestmark = pytest.mark.slow

def _start(tmp_path):
    """A process-pool sweep whose two workers each hold a run at the gate (``tests/gate.py``)."""
    db, gate = tmp_path / "s.db", make_gate(tmp_path / "gate", tickets=0)
    proc = subprocess.Popen(
        gated_compare(db, "--executor", "process", "--workers", "2", seeds=6),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=gated_env(gate),
    )
    wait_until(gate, db, done=0, blocked=2, proc=proc)
    return proc, db


def test_sigterm_hands_runs_back(tmp_path):
    proc, db = _start(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    with Store.open(db) as store:
        runs = store.runs(store.experiments()[0].id)
    assert not any(r.status == "running" for r in runs)


def test_no_process_outlives_a_killed_driver(tmp_path):
    proc, db = _start(tmp_path)
    assert len(children(proc.pid, tracker=False)) == 2  # the pool's two workers, each at the gate
    family = descendants(proc.pid)  # and multiprocessing's resource tracker and fork server
    kill_and_wait(proc, family)
    assert alive(family) == []


@pytest.mark.skipif(not executors._fork_server_fits(), reason="workers are spawned here")
def test_a_ctrl_c_while_the_fork_server_imports_stops_the_driver(tmp_path):
    """SIGINT to the driver alone (``kill -INT``, a notebook's interrupt) while its first pool
    waits for the fork server's imports: the sweep stops, interrupted, at once (its runs would
    otherwise wait at the closed gate for ever), and nothing outlives it."""
    db, gate = tmp_path / "s.db", make_gate(tmp_path / "gate", tickets=0)
    proc = subprocess.Popen(
        gated_compare(db, "--executor", "process", "--workers", "2", seeds=6),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=gated_env(gate),
        # a test run started in the background inherits SIGINT ignored; Ctrl-C in a terminal is not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:  # whatever fails, no driver is left waiting at the gate
        deadline = time.monotonic() + 60
        # the server has been started, and the driver no longer ignores SIGINT (it waits for the
        # server, which is importing torch: seconds)
        while not (any(is_fork_server(pid) for pid in children(proc.pid))
                   and not _ignores_sigint(proc.pid)):
            assert time.monotonic() < deadline and proc.poll() is None, (
                "no fork server started, or the driver kept ignoring SIGINT")
            time.sleep(0.01)
        family = descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 10
    while alive(family) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert alive(family) == []
    # the server is among them, and it ends only once every worker it forked has (each holds
    # multiprocessing's "alive" pipe): a worker forked for the start the Ctrl-C cut short too


def _ignores_sigint(pid: int) -> bool:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False
