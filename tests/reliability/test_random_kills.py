"""SIGKILL of the driver at chosen points of a process-pool sweep: after each kill no process of
the sweep is left 10 s later, no finished run is trained again, and the last start finishes the
grid with every run stored once.

The points are drawn at random but the same on every run of the suite (``SEED``): each start is
given a number of gate tickets (``tests/gate.py``), so exactly that many more runs finish and the
pool's workers are holding runs at the gate when the driver is killed, the state a kill at a
random time mid-sweep leaves, reached without waiting on the clock.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess

import pytest

from layerorder.store import Store
from tests.gate import add_tickets, gated_compare, gated_env, make_gate, open_gate, wait_until
from tests.gate import waiting as waiting_runs
from tests.reliability.processes import alive, descendants, kill_and_wait

pytestmark = pytest.mark.slow

KILLS = 2
SEED = 20261130
RUNS = 10


def _finished(db) -> dict[int, tuple]:
    """Finished runs: id -> (finished_at, wall_time, final test accuracy)."""
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT id, finished_at, wall_time, final_test_acc FROM runs WHERE status = 'done'"
            ).fetchall()
    except sqlite3.Error:
        return {}
    return {r[0]: tuple(r[1:]) for r in rows}


def test_random_kills_lose_and_repeat_nothing(tmp_path):
    db, gate = tmp_path / "s.db", make_gate(tmp_path / "gate")
    cmd = gated_compare(db, "--executor", "process", "--workers", "2", seeds=RUNS)
    rng = random.Random(SEED)
    seen: dict[int, tuple] = {}
    for _ in range(KILLS):
        more = rng.randint(0, 2)  # runs this start finishes before the kill
        add_tickets(gate, more)
        blocked = waiting_runs(gate)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, env=gated_env(gate))
        wait_until(gate, db, done=len(seen) + more, blocked=blocked + 1, proc=proc)
        family = descendants(proc.pid)
        kill_and_wait(proc, family)
        assert alive(family) == [], "processes of the killed sweep outlived it by 10 s"
        now = _finished(db)
        assert {k: now[k] for k in seen} == seen  # a finished run is never trained again
        assert len(now) == len(seen) + more
        seen = now
    open_gate(gate)
    last = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=gated_env(gate))
    assert last.returncode == 0, last.stderr
    with Store.open(db) as store:
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
        epochs = {r.id: [e.epoch for e in store.epochs(r.id)] for r in runs}
    assert len(runs) == RUNS and all(r.status == "done" for r in runs)
    assert all(e == [1, 2, 3] for e in epochs.values())
    assert {k: v for k, v in _finished(db).items() if k in seen} == seen
