"""From the command line: ``compare --plan-only``, ``layerorder worker``, ``--executor slurm``
(submitit's local executor), ``store copy`` and ``report`` on a PostgreSQL URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from layerorder.store import Store
from tests.gate import gated_compare, gated_env, make_gate, waiting
from tests.helpers import TINY, run_cli

GRID = [*TINY, "--order", "standard", "--order", "preact", "--seeds", "2"]


def _json(text: str):
    return json.loads(text)


def test_plan_only_then_workers_then_report(capsys, tmp_path, postgres_url):
    code, out, err = run_cli(capsys, "compare", *GRID, "--store", postgres_url, "--plan-only")
    assert code == 0, err
    assert "stored 4 runs (4 new)" in out and "nothing was trained" in out
    assert f"layerorder worker --store '{postgres_url}' --experiment 1" in out
    code, out, _ = run_cli(capsys, "worker", "--store", postgres_url, "--study", "other")
    assert code == 0 and "trained 0 runs; stopped: no runs left" in out  # no run of that study
    code, out, err = run_cli(capsys, "worker", "--store", postgres_url, "--max-runs", "1",
                             "--json")
    assert code == 0, err
    assert _json(out)["trained"] == 1 and _json(out)["stopped"] == "max runs"
    assert "[1] run 1 standard seed 0" in err  # one log line per run
    code, out, err = run_cli(capsys, "worker", "--store", postgres_url, "-e", "1")
    assert code == 0, err
    assert "trained 3 runs; stopped: no runs left" in out
    code, out, err = run_cli(capsys, "compare", *GRID, "--store", postgres_url, "--json",
                             "--no-report")
    assert code == 0, err
    assert _json(out)["trained_now"] == 0 and _json(out)["runs_not_finished"] == 0
    page = tmp_path / "r.html"
    code, out, err = run_cli(capsys, "report", "--store", postgres_url, "--output", page)
    assert code == 0, err
    assert page.exists() and "preact" in page.read_text()
    code, out, _ = run_cli(capsys, "runs", "--store", postgres_url, "-e", "1", "--json")
    assert sorted(r["status"] for r in _json(out)) == ["done"] * 4


def _slurm_compare(capsys, tmp_path, url: str, cluster: str) -> None:
    """compare --executor slurm with two array tasks into ``url``, then a report from it."""
    code, out, err = run_cli(capsys, "compare", *GRID, "--store", url, "--executor", "slurm",
                             "--slurm-cluster", cluster, "--workers", "2", "--json",
                             "--no-report")
    assert code == 0, err
    result = _json(out)
    assert result["trained_now"] == 4 and result["runs_not_finished"] == 0
    assert f"submitted 2 pull workers ({cluster})" in err
    assert (tmp_path / "layerorder-slurm" / "experiment-1").is_dir()
    with Store.open(url, create=False) as store:
        owners = {r.owner.split(":")[1] for r in store.runs(1)}
    assert str(os.getpid()) not in owners  # trained by the jobs, not by this process
    code, out, err = run_cli(capsys, "report", "--store", url, "--output", tmp_path / "r.html")
    assert code == 0, err


def test_a_slurm_array_into_postgresql_then_report(capsys, tmp_path, postgres_url,
                                                   monkeypatch, slurm):
    """--executor slurm on a real single-node SLURM (started by the test set-up): a job array
    of two pull workers trains the grid into the PostgreSQL store."""
    pytest.importorskip("submitit")
    for name, value in slurm.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    _slurm_compare(capsys, tmp_path, postgres_url, "slurm")
    logs = list((tmp_path / "layerorder-slurm" / "experiment-1").glob("*_[01]/*_log.out"))
    assert len(logs) == 2  # two array tasks ran


def test_submitits_local_executor_runs_the_same_jobs(capsys, tmp_path, postgres_url,
                                                     monkeypatch):
    """--slurm-cluster local: the same jobs as processes on this machine."""
    pytest.importorskip("submitit")
    monkeypatch.chdir(tmp_path)
    _slurm_compare(capsys, tmp_path, postgres_url, "local")


def test_slurm_needs_sbatch(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch on it
    code, _, err = run_cli(capsys, "compare", *GRID, "--store", tmp_path / "s.db",
                           "--executor", "slurm")
    assert code == 2
    assert "no SLURM here (sbatch is not on PATH)" in err and "--slurm-cluster local" in err
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("args,message", [
    (["--idle-exit", "soon"], "--idle-exit 'soon' is not a time"),
    (["--experiment", "1", "--study", "x"], "give --experiment or --study, not both"),
    (["--device", "tpu"], "'tpu' is not one of auto, cpu, cuda"),
    (["--max-runs", "0"], "--max-runs"),
])
def test_worker_bad_input(capsys, tmp_path, args, message):
    code, _, err = run_cli(capsys, "worker", "--store", tmp_path / "s.db", *args)
    assert code == 2 and message in err
    assert "Traceback" not in err


def test_a_worker_on_a_missing_store(capsys, tmp_path):
    code, _, err = run_cli(capsys, "worker", "--store", tmp_path / "none.db")
    assert code == 2 and "does not exist" in err and not (tmp_path / "none.db").exists()


def test_store_copy_round_trip_gives_equal_exports(capsys, tmp_path, postgres_url):
    source, back = tmp_path / "a.db", tmp_path / "back.db"
    assert run_cli(capsys, "compare", *GRID, "--store", source, "--probe", "--no-report")[0] == 0
    code, out, err = run_cli(capsys, "store", "copy", source, postgres_url)
    assert code == 0, err
    assert "4 runs" in out and "probes" in out
    assert run_cli(capsys, "store", "copy", postgres_url, back)[0] == 0
    for what in ("epochs", "probes"):
        exports = [run_cli(capsys, "export", "--store", s, "--format", "json", "--what",
                           what)[1] for s in (source, postgres_url, back)]
        assert exports[0] == exports[1] == exports[2] and len(_json(exports[0])) > 0
    code, _, err = run_cli(capsys, "store", "copy", source, postgres_url)
    assert code == 2 and "already holds experiments" in err


def test_a_sigterm_hands_the_worker_run_back(tmp_path):
    """SLURM sends SIGTERM at a job's time limit: the worker hands its run back and exits 0."""
    db, gate = tmp_path / "s.db", make_gate(tmp_path / "gate", tickets=0)
    subprocess.run(gated_compare(db, "--plan-only", seeds=1), check=True, capture_output=True)
    worker = subprocess.Popen([sys.executable, "-m", "layerorder", "worker", "--store", str(db)],
                              env=gated_env(gate), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(3000):
            if waiting(gate) or worker.poll() is not None:
                break
            import time

            time.sleep(0.02)
        assert waiting(gate) == 1, worker.communicate()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "stopped: stopped by SIGTERM" in out
    with Store.open(db, create=False) as store:
        (run,) = store.runs(1)
    assert run.status == "pending" and run.owner is None and run.attempts == 1
