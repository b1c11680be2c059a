"""Signals to the driver: SIGTERM hands runs back like Ctrl-C; after SIGKILL no worker lives on."""

import signal
import subprocess
import sys
import time

import pytest

from layerorder.store import Store
from tests.reliability.processes import alive, children

pytestmark = pytest.mark.slow

LONG = [
    "compare",
    "--dataset",
    "synthetic",
    "--data-opt",
    "num_samples=3000",
    "--arch",
    "mlp",
    "--epochs",
    "60",
    "--order",
    "standard,preact",
    "--seeds",
    "3",
    "--executor",
    "process",
    "--workers",
    "2",
    "--no-report",
]


def _start(tmp_path):
    db = tmp_path / "s.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "layerorder", *LONG, "--store", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until runs are in flight
        if db.exists():
            with Store.open(db) as store:
                exps = store.experiments()
                if exps and any(r.status == "running" for r in store.runs(exps[0].id)):
                    return proc, db
        time.sleep(0.3)
    proc.kill()
    pytest.fail("the sweep did not start")


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
    workers = children(proc.pid)
    assert len(workers) >= 2  # the pool's workers (and multiprocessing's resource tracker)
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.time() + 10
    while alive(workers) and time.time() < deadline:
        time.sleep(0.2)
    assert alive(workers) == []
