"""A sweep killed with SIGKILL resumes: finished runs kept, the rest trained, none duplicated.

The sweeps are gated (``tests/gate.py``): exactly the runs given a ticket finish, the others wait
at the gate, so every kill and signal lands in a known state; the resumed sweep opens the gate.
"""

import os
import signal
import subprocess

import pytest

from layerorder.store import Store
from tests.gate import ENV, gated_compare, gated_env, make_gate, open_gate, wait_until
from tests.helpers import run_cli

EPOCHS = 3  # gated_compare's


def _resume_in_process(capsys, monkeypatch, gate, cmd):
    """The same command again, in this process, with the gate open."""
    open_gate(gate)
    monkeypatch.setenv(ENV, str(gate))
    return run_cli(capsys, *cmd[3:])  # without 'python -m layerorder'


@pytest.mark.parametrize(
    "executor,kill_after",
    # a process pool's driver killed at chosen points, its workers left to die on their own,
    # then resumed: tests/reliability/test_random_kills.py; a killed pool worker's run retried:
    # tests/reliability/test_worker_death.py
    [("sequential", 1), ("stacked", 0), ("stacked-pool", 0)],
)
def test_sigkill_midway_then_resume(tmp_path, capsys, monkeypatch, executor, kill_after):
    db, gate = tmp_path / "s.db", make_gate(tmp_path / "gate", tickets=kill_after)
    cmd = gated_compare(db, "--executor", executor)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=gated_env(gate))
    wait_until(gate, db, done=kill_after, proc=proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and any workers
    proc.wait()
    with Store.open(db) as store:
        runs = store.runs(store.experiments()[0].id)
        before = {r.run_key: r.finished_at for r in runs if r.status == "done"}
    assert len(before) == kill_after and any(r.status == "running" for r in runs)

    code, _, err = _resume_in_process(capsys, monkeypatch, gate, cmd)
    assert code == 0, err
    assert f"{len(before)} already stored" in err
    with Store.open(db) as store:
        assert store.integrity_check() == "ok"
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
        assert len(runs) == 8 and len({r.run_key for r in runs}) == 8
        assert all(r.status == "done" for r in runs)
        assert all(len(store.epochs(r.id)) == EPOCHS for r in runs)
        for r in runs:  # finished runs were kept, not trained again
            if r.run_key in before:
                assert r.finished_at == before[r.run_key] and r.attempts == 1


def test_two_processes_share_one_store(tmp_path):
    """Two compare processes, one store, one experiment: each run trained exactly once, and
    each process trains some (both hold a run at the gate before it opens)."""
    db, gate = tmp_path / "s.db", make_gate(tmp_path / "gate", tickets=0)
    cmd = gated_compare(db, "--executor", "sequential")
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=gated_env(gate)) for _ in range(2)]
    wait_until(gate, db, done=0, blocked=2)
    open_gate(gate)
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    with Store.open(db) as store:
        assert store.integrity_check() == "ok"
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
    assert len(runs) == 8 and all(r.status == "done" for r in runs)
    assert all(r.attempts == 1 for r in runs)  # claimed once, trained once
    owners = {r.provenance["pid"] for r in runs}
    assert owners == {p.pid for p in procs}  # both processes did part of the work


@pytest.mark.parametrize("executor", ["sequential", "process", "stacked", "stacked-pool", "auto"])
def test_ctrl_c_hands_unfinished_runs_back(tmp_path, executor):
    db, gate = tmp_path / "s.db", make_gate(tmp_path / "gate", tickets=2)
    proc = subprocess.Popen(
        gated_compare(db, "--executor", executor),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=gated_env(gate),
        # a test run started in the background inherits SIGINT ignored; Ctrl-C in a terminal is not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_until(gate, db, done=2, proc=proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    with Store.open(db) as store:
        assert store.integrity_check() == "ok"
        runs = store.runs(store.experiments()[0].id)
    assert {r.status for r in runs} <= {"done", "pending"}  # nothing left claimed
    assert sum(r.status == "done" for r in runs) == 2  # the ticketed ones; the rest waited
