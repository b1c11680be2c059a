"""A sweep killed with SIGKILL resumes: finished runs kept, the rest trained, none duplicated."""

import os
import signal
import subprocess
import sys
import time

import pytest

from layerorder.store import Store
from tests.helpers import count_runs

# Long enough (about a second a run) that a signal arrives while runs remain to be trained.
EPOCHS = 20
GRID = [
    "compare",
    "--dataset",
    "synthetic",
    "--data-opt",
    "num_samples=2000",
    "--arch",
    "mlp",
    "--epochs",
    str(EPOCHS),
    "--order",
    "standard,act-first",
    "--seeds",
    "4",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "executor,kill_after",
    # kills at random points of a process-pool sweep: tests/reliability/test_random_kills.py
    [("sequential", 1), ("process", 3), ("stacked", 0)],
)
def test_sigkill_midway_then_resume(tmp_path, executor, kill_after):
    db = tmp_path / "s.db"
    cmd = [sys.executable, "-m", "layerorder", *GRID, "--executor", executor, "--store", str(db)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if count_runs(db, "done") >= kill_after and (kill_after or count_runs(db, "running")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and any workers
    proc.wait()
    with Store.open(db) as store:
        runs = store.runs(store.experiments()[0].id)
        before = {r.run_key: r.finished_at for r in runs if r.status == "done"}
    assert kill_after <= len(before) < 8

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(before)} already stored" in rerun.stderr
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


@pytest.mark.slow
def test_two_processes_share_one_store(tmp_path):
    """Two compare processes, one store, one experiment: each run trained exactly once."""
    db = tmp_path / "s.db"
    grid = [*GRID[: GRID.index("--epochs")], "--epochs", "6", *GRID[GRID.index("--epochs") + 2 :]]
    cmd = [
        sys.executable,
        "-m",
        "layerorder",
        *grid,  # short runs: each process still finds some of the 8 to claim
        "--executor",
        "sequential",
        "--store",
        str(db),
        "--no-report",
    ]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    with Store.open(db) as store:
        assert store.integrity_check() == "ok"
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
    assert len(runs) == 8 and all(r.status == "done" for r in runs)
    assert all(r.attempts == 1 for r in runs)  # claimed once, trained once
    owners = {r.provenance["pid"] for r in runs}
    assert len(owners) == 2  # both processes did part of the work


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["sequential", "process", "stacked"])
def test_ctrl_c_hands_unfinished_runs_back(tmp_path, executor):
    db = tmp_path / "s.db"
    cmd = [
        sys.executable,
        "-m",
        "layerorder",
        *GRID,
        "--executor",
        executor,
        "--store",
        str(db),
        "--no-report",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a test run started in the background inherits SIGINT ignored; Ctrl-C in a terminal is not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while count_runs(db, "done") < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    with Store.open(db) as store:
        assert store.integrity_check() == "ok"
        runs = store.runs(store.experiments()[0].id)
    assert {r.status for r in runs} <= {"done", "pending"}  # nothing left claimed
    assert sum(r.status == "done" for r in runs) >= 2


@pytest.mark.slow
def test_a_killed_pool_worker_is_retried(tmp_path):
    """SIGKILL of one worker process: its runs are retried on a fresh pool, the sweep completes."""
    import subprocess as sp

    db = tmp_path / "s.db"
    cmd = [
        sys.executable,
        "-m",
        "layerorder",
        *GRID,
        "--executor",
        "process",
        "--store",
        str(db),
        "--no-report",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, killed = time.time() + 120, False
    while not killed and time.time() < deadline and proc.poll() is None:
        if count_runs(db, "done") >= 1:
            children = sp.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
            workers = [int(p) for p in children.stdout.split()]
            if len(workers) >= 2:  # the two pool workers (and the resource tracker)
                os.kill(max(workers, key=_cpu_time), signal.SIGKILL)  # a busy pool worker
                killed = True
        time.sleep(0.05)
    out, err = proc.communicate(timeout=300)
    assert killed and proc.returncode == 0, err
    with Store.open(db) as store:
        runs = store.runs(store.experiments()[0].id)
    assert len(runs) == 8 and all(r.status == "done" for r in runs), [r.error for r in runs]


def _cpu_time(pid: int) -> int:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return -1
    return int(fields[11]) + int(fields[12])  # utime + stime
