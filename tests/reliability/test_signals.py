"""Signals to the driver: SIGTERM hands runs back like Ctrl-C; after SIGKILL no worker lives on."""

import signal
import subprocess

import pytest

from layerorder.store import Store
from tests.gate import gated_compare, gated_env, make_gate, wait_until
from tests.reliability.processes import alive, children, descendants, kill_and_wait

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
