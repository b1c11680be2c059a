"""SIGKILL of the driver at random points of a process-pool sweep: after each kill no process of
the sweep is left 10 s later, no finished run is trained again, and the last start finishes the
grid with every run stored once."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time

import pytest

from layerorder.store import Store
from tests.reliability.processes import alive, descendants

pytestmark = pytest.mark.slow

KILLS = 4
SEED = 20261130  # the kill times are random but the same on every run of the suite
GRID = [
    "compare", "--dataset", "synthetic", "--data-opt", "num_samples=1500", "--arch", "mlp",
    "--epochs", "3", "--order", "standard,preact", "--seeds", "4", "--executor", "process",
    "--workers", "2", "--no-report",
]


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
    db = tmp_path / "s.db"
    cmd = [sys.executable, "-m", "layerorder", *GRID, "--store", str(db)]
    rng = random.Random(SEED)
    seen: dict[int, tuple] = {}
    for _ in range(KILLS):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(1.0, 9.0))
        family = descendants(proc.pid)
        proc.kill()
        proc.communicate(timeout=30)
        deadline = time.time() + 10
        while alive(family) and time.time() < deadline:
            time.sleep(0.2)
        assert alive(family) == [], "processes of the killed sweep outlived it by 10 s"
        now = _finished(db)
        assert {k: now[k] for k in seen} == seen  # a finished run is never trained again
        seen = now
    last = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert last.returncode == 0, last.stderr
    with Store.open(db) as store:
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
        epochs = {r.id: [e.epoch for e in store.epochs(r.id)] for r in runs}
    assert len(runs) == 8 and all(r.status == "done" for r in runs)
    assert all(e == [1, 2, 3] for e in epochs.values())
    assert {k: v for k, v in _finished(db).items() if k in seen} == seen
