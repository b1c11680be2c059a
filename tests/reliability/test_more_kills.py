"""SIGKILL of the commands the driver kills had not covered: ``search``, ``compare
--until-decided`` and ``export --format tensorboard``, each at seeded random points, then run
again: no finished run is lost or trained again, and the export ends whole. Two ``study run``
drivers on one store share its runs: every run is stored once.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time

import pytest

from layerorder.store import Store
from tests.helpers import TINY, count_runs, run_cli, tiny_store
from tests.reliability.processes import alive, descendants, kill_and_wait

pytestmark = pytest.mark.slow

SEED = 20261205
KILLS = 1  # per command here; test_random_kills.py and test_startup_kills.py kill more often
CLI = [sys.executable, "-m", "layerorder"]
SEARCH = ["search", "--dataset", "synthetic", "--data-opt", "num_samples=300", "--arch", "mlp",
          "--width", "8", "--base", "linear-relu", "--acts", "relu,identity", "--epochs", "2",
          "--budget", "6", "--eta", "2", "--finalists", "2", "--selection-seeds", "1",
          "--executor", "sequential", "--no-report"]
UNTIL_DECIDED = ["compare", *TINY, "--order", "standard", "--order", "no-norm", "--seeds", "2",
                 "--until-decided", "--max-seeds", "6", "--executor", "sequential",
                 "--no-report"]


def _finished(db) -> dict[int, str]:
    """Finished runs: id -> finished_at (a run trained again would change it)."""
    if not db.exists():
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT id, finished_at FROM runs WHERE status = 'done'"))


def _kill_after(cmd, db, done: int, timeout: float = 120.0) -> bool:
    """Run ``cmd``; SIGKILL it once ``done`` runs are finished. False when it ended first."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if db.exists() and count_runs(db, "done") >= done:
            family = descendants(proc.pid)
            kill_and_wait(proc, family)
            assert alive(family) == []
            return True
        time.sleep(0.005)
    proc.wait(timeout=30)
    return False


def _kill_at_random_times(cmd, *, times: int, earliest: float, latest: float) -> None:
    """Start ``cmd`` ``times`` times, each SIGKILLed at a seeded random time in the window."""
    rng = random.Random(SEED)
    for _ in range(times):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(earliest, latest))
        proc.kill()
        proc.wait(timeout=30)


@pytest.mark.parametrize("command", ["search", "until-decided"])
def test_a_killed_search_or_sequential_design_resumes_and_repeats_nothing(tmp_path, command):
    db = tmp_path / "s.db"
    cmd = [*CLI, *(SEARCH if command == "search" else UNTIL_DECIDED), "--store", str(db)]
    rng = random.Random(SEED)
    seen: dict[int, str] = {}
    for _ in range(KILLS):
        if not _kill_after(cmd, db, done=len(seen) + rng.randint(1, 3)):
            break
        now = _finished(db)
        assert {k: now[k] for k in seen} == seen  # a finished run is never trained again
        seen = now
    last = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert last.returncode == 0, last.stderr[-2000:]
    assert {k: v for k, v in _finished(db).items() if k in seen} == seen
    with Store.open(db) as store:  # every run once: no pending or running run is left
        statuses = {r.status for e in store.experiments() for r in store.runs(e.id)}
    assert statuses <= {"done", "diverged", "failed"}


def test_a_killed_tensorboard_export_ends_whole_when_run_again(tmp_path, capsys):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    db = tiny_store(capsys, tmp_path / "s.db", seeds=3)
    out = tmp_path / "tb"
    cmd = [*CLI, "export", "--store", str(db), "--format", "tensorboard", "-o", str(out)]
    _kill_at_random_times(cmd, times=3, earliest=0.5, latest=4.0)
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "tensorboard", "-o", out)
    assert code == 0, err
    events = sorted(out.rglob("events.out.tfevents.*"))
    with Store.open(db) as store:
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
        epochs = len(store.epochs(runs[0].id))
    assert len(events) == len(runs)  # one whole event file per run
    assert not list(out.rglob("*.partial"))
    for event in events:
        acc = EventAccumulator(str(event.parent))
        acc.Reload()
        assert len(acc.Scalars("epoch/test_acc")) == epochs


def test_a_killed_mlflow_export_ends_with_every_run_once(tmp_path, capsys, monkeypatch):
    pytest.importorskip("mlflow", reason="mlflow is not installed")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    db = tiny_store(capsys, tmp_path / "s.db", seeds=3)
    target = tmp_path / "mlruns"
    cmd = [*CLI, "export", "--store", str(db), "--format", "mlflow", "-o", str(target)]
    _kill_at_random_times(cmd, times=2, earliest=2.0, latest=8.0)  # mlflow's import: seconds
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "mlflow", "-o", target)
    assert code == 0, err
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=target.resolve().as_uri())
    with Store.open(db) as store:
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
    found = client.search_runs([client.get_experiment_by_name(exp.name).experiment_id])
    tagged = [r.data.tags.get("layerorder.run_id") for r in found
              if r.data.tags.get("layerorder.parent") != "true"]
    assert sorted(tagged) == sorted(str(r.id) for r in runs)  # each run once, none half-written


def test_two_study_drivers_on_one_store_store_every_run_once(tmp_path):
    study = tmp_path / "s.toml"
    study.write_text(STUDY)
    db = tmp_path / "s.db"
    cmd = [*CLI, "study", "run", str(study), "--store", str(db)]
    both = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    for proc in both:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    with Store.open(db) as store:
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
    assert len(runs) == 12 and all(r.status == "done" for r in runs)
    assert len({(r.label, r.seed) for r in runs}) == 12  # each run stored once


def test_two_search_drivers_on_one_store_store_every_run_once(tmp_path):
    db = tmp_path / "s.db"
    cmd = [*CLI, *SEARCH, "--store", str(db)]
    both = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outs = []
    for proc in both:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        outs.append(out)
    with Store.open(db) as store:
        runs = [(e.name, r.label, r.seed, r.lr, r.status) for e in store.experiments()
                for r in store.runs(e.id)]
        steps = store.search_steps()
    assert len(runs) == len(set(runs)) and {r[-1] for r in runs} == {"done"}
    assert steps and len(steps) == len(set(steps))  # one history, not two interleaved
    picks = {line for out in outs for line in out.splitlines() if "search picks" in line}
    assert len(picks) == 1  # both drivers read the same stored runs: the same answer


STUDY = """name = "two-drivers"
title = "Two drivers"
[scales.quick]
dataset = "synthetic"
data_options = { num_samples = 300 }
arch = "mlp"
width = 8
epochs = 2
seeds = 6
executor = "sequential"
[[experiments]]
id = "pair"
orders = ["standard", "no-norm"]
[[claims]]
id = "better"
statement = "standard beats no-norm"
source = "test"
experiment = "pair"
test = "accuracy"
better = "standard"
than = "no-norm"
"""
