"""Leases end to end: a frozen driver's run is taken over once its lease expires (its late result
is discarded), runs held by a live driver elsewhere are left alone and named, and
``runs --release-stale`` hands back what a vanished driver left running."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time

from layerorder.store import Store
from tests.gate import ENV, gated_compare, gated_env, make_gate, open_gate, wait_until
from tests.helpers import TINY, count_runs, run_cli, tiny_store

ELSEWHERE = "another-host:4242:st1"


def _hold(db, run_id: int, lease_until: float) -> None:
    """Mark a run as held by a driver on another host (whose process cannot be checked)."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE runs SET status = 'running', owner = ?, lease_until = ?, final_test_acc = NULL"
            " WHERE id = ?",
            (ELSEWHERE, lease_until, run_id),
        )


def _freeze_between_writes(pid: int, db) -> None:
    """Stop ``pid`` at a moment it holds no write lock on ``db``. A driver stopped inside a write
    (its heartbeat renewing the lease) would hold the lock while frozen, and the second driver
    would wait out SQLite's busy timeout instead of taking the run over: that is SQLite's
    locking, not the lease this test is about. So stop it, check the lock, and thaw and try
    again if it holds it."""
    for _ in range(200):
        os.kill(pid, signal.SIGSTOP)
        conn = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.02)
        finally:
            conn.close()
    raise AssertionError(f"the driver {pid} held the store's write lock at every try")


def test_a_frozen_drivers_run_is_taken_over_and_its_late_result_discarded(
    tmp_path, capsys, monkeypatch
):
    """The first driver holds its one run at the gate (``tests/gate.py``) when it is frozen; a
    second driver takes the run over once the lease (2 s) has run out and trains it; the first,
    thawed, finishes the run too, and its late result is discarded."""
    db, gate = tmp_path / "s.db", make_gate(tmp_path / "gate", tickets=0)
    cmd = gated_compare(db, "--executor", "sequential", "--lease", "2", seeds=1)
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=gated_env(gate))
    try:
        wait_until(gate, db, done=0, proc=first)
        assert count_runs(db, "running") == 1
        _freeze_between_writes(first.pid, db)  # frozen: its heartbeat stops with it
        time.sleep(2.5)  # the lease (2 s) runs out
        open_gate(gate)
        monkeypatch.setenv(ENV, str(gate))
        code, out, err = run_cli(capsys, *cmd[3:], "--json")  # the second driver, in-process
        assert code == 0, err
        assert json.loads(out)["trained_now"] == 1
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert "taken over by another driver" in " ".join(err.split())
    with Store.open(db) as store:
        (run,) = store.runs(store.experiments()[0].id)
        epochs = store.epochs(run.id)
    assert run.status == "done" and run.attempts == 2
    assert run.provenance["pid"] == os.getpid()  # the second driver's result was kept
    assert [e.epoch for e in epochs] == [1, 2, 3]  # stored once


def test_runs_held_elsewhere_are_left_alone_and_named(tmp_path, capsys):
    db = tiny_store(capsys, tmp_path / "s.db", seeds=2)
    _hold(db, 1, time.time() + 600)
    code, out, err = run_cli(
        capsys, "compare", *TINY, "--order", "standard", "--seeds", "2", "--store", db,
        "--no-report", "--json",
    )
    assert code == 0, err
    text = " ".join(err.split())
    assert f"1 run of this grid are held by another driver ({ELSEWHERE})" in text
    assert "1 run still held by another driver" in text and "--release-stale" in text
    result = json.loads(out)
    assert result["trained_now"] == 0
    assert "(1 of 2 runs not finished)" in result["title"] and result["runs_not_finished"] == 1
    with Store.open(db) as store:
        assert store.run(1).owner == ELSEWHERE  # not taken over: its lease is live


def test_release_stale_hands_back_a_vanished_drivers_runs(tmp_path, capsys):
    db = tiny_store(capsys, tmp_path / "s.db", seeds=2)
    _hold(db, 1, time.time() + 600)
    _hold(db, 2, time.time() - 5)  # its driver stopped renewing
    code, out, err = run_cli(capsys, "runs", "--store", db, "--release-stale")
    assert code == 0, err
    assert "released 1 stale run" in out and f"run 2 (standard, seed 1) held by {ELSEWHERE}" in out
    assert "run 1 (standard, seed 0) is held by" in out and "left alone" in out
    with Store.open(db) as store:
        assert [r.status for r in store.runs(1)] == ["running", "pending"]
    code, out, _ = run_cli(capsys, "runs", "--store", db, "--release-stale", "--json")
    assert json.loads(out)["released"] == [] and len(json.loads(out)["held"]) == 1
