"""The Ray executor on a real local Ray cluster (ray.init(num_cpus=2))."""

import os
import signal
import subprocess
import threading
import time

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'layerorder[ray]')")

from layerorder.experiment.configuration.config import make_config  # noqa: E402
from layerorder.experiment.execution.runner import run_sweep  # noqa: E402
from layerorder.experiment.execution.worker import RunTask, execute  # noqa: E402
from layerorder.store import Store  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _config(**extra):
    values = {
        "dataset": "synthetic",
        "arch": "mlp",
        "width": 16,
        "epochs": 3,
        "batch_size": 64,
        "orders": "standard,no-norm",
        "seeds": 2,
        "executor": "ray",
    }
    return make_config({**values, **extra})


def test_ray_equals_sequential_per_run(cluster, tmp_path):
    config = _config()
    with Store.open(tmp_path / "s.db") as store:
        summary = run_sweep(config, store)
        runs = store.runs(summary.experiment.id)
    assert summary.trained == 4 and {r.status for r in runs} == {"done"}
    for run in runs:  # the same run, trained here alone with one thread
        alone = execute(RunTask(run.id, run.label, run.config, "cpu", threads=1))
        assert alone.epochs[-1].test_acc == run.final_test_acc
        assert alone.epochs[-1].train_loss == pytest.approx(run.final_train_loss, rel=1e-6)
    assert all(r.provenance["pid"] != os.getpid() for r in runs)  # trained on Ray workers


def _ray_task_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "ray::_run_on_ray"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_killed_task_is_retried_and_sweep_completes(cluster, tmp_path):
    config = _config(data_options={"num_samples": 3000}, epochs=25, seeds=1, max_retries=2)
    db = tmp_path / "s.db"
    result = {}

    def sweep():
        with Store.open(db) as store:
            result["summary"] = run_sweep(config, store)
            result["runs"] = store.runs(result["summary"].experiment.id)

    thread = threading.Thread(target=sweep)
    thread.start()
    killed, deadline = None, time.time() + 120
    while killed is None and time.time() < deadline and thread.is_alive():
        pids = _ray_task_pids()
        if pids:
            time.sleep(0.5)  # let it get into training
            os.kill(pids[0], signal.SIGKILL)
            killed = pids[0]
        time.sleep(0.1)
    thread.join(timeout=300)
    assert killed is not None, "no Ray task was seen running"
    runs = result["runs"]
    assert len(runs) == 2 and all(r.status == "done" for r in runs)
    assert all(len(r.config) and r.final_test_acc is not None for r in runs)


def test_unreachable_cluster_is_a_clear_error(monkeypatch, tmp_path, capsys):
    from layerorder.experiment.execution import ray_executor
    from tests.helpers import TINY, run_cli

    def refuse(*args, **kwargs):
        raise ConnectionError("could not connect to 10.0.0.1:6379")

    monkeypatch.setattr(ray_executor.require_ray(), "is_initialized", lambda: False)
    monkeypatch.setattr(ray_executor.require_ray(), "init", refuse)
    before = tmp_path / "s.db"
    code, _, err = run_cli(
        capsys,
        "compare",
        *TINY[:-2],
        "--executor",
        "ray",
        "--order",
        "standard",
        "--seeds",
        "1",
        "--ray-address",
        "10.0.0.1:6379",
        "--store",
        before,
        "--no-report",
    )
    assert code == 2 and "cannot start or reach the Ray cluster at '10.0.0.1:6379'" in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    with Store.open(before) as store:  # refused before anything was stored
        assert store.experiments() == []


def test_in_memory_data_and_a_model_factory_on_ray(cluster, tmp_path):
    """``layerorder.compare(data=..., model=...)`` on Ray: the data goes as loaded tensors, the
    factory (defined here, in a module Ray workers could not import by name) is shipped."""
    import numpy as np
    from torch import nn

    import layerorder

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 2))).argmax(1)
    width = 8

    def make():
        return nn.Sequential(
            nn.Linear(6, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, 2)
        )

    results = layerorder.compare(
        data=(x[:160], y[:160], x[160:], y[160:]),
        model=make,
        orders=["as-is"],
        seeds=2,
        epochs=1,
        executor="ray",
        store=tmp_path / "r.db",
        progress=False,
    )
    assert [r.status for r in results.runs] == ["done", "done"], [r.error for r in results.runs]


SCORE = """
import random, layerorder
t = layerorder.trial()
rng = random.Random(t.seed * 7 + len(str(t.order)))
for epoch in (1, 2):
    t.report(epoch, score=rng.random() + epoch)
"""


def test_a_command_comparison_on_ray_equals_the_sequential_one(cluster, tmp_path):
    """The same --command comparison, run as Ray tasks and in this process: the same runs, run
    keys and reported metrics, the Ray runs in Ray's worker processes."""
    import sys

    script = tmp_path / "score.py"
    script.write_text(SCORE)
    results = {}
    for executor in ("ray", "sequential"):
        config = make_config({"command": f"{sys.executable} {script}", "metric": "score",
                              "orders": "a,b", "seeds": 3, "executor": executor})
        with Store.open(tmp_path / f"{executor}.db") as store:
            summary = run_sweep(config, store)
            runs = store.runs(summary.experiment.id)
            epochs = store.epochs_for_experiment(summary.experiment.id)
        assert summary.trained == 6 and {r.status for r in runs} == {"done"}
        results[executor] = {r.run_key: (r.metrics, [e.metrics for e in epochs[r.id]])
                             for r in runs}
        if executor == "ray":
            assert all(r.provenance["pid"] != os.getpid() for r in runs)
    assert results["ray"] == results["sequential"]


def _train(trial):
    import random

    rng = random.Random(trial.seed * 7 + len(str(trial.order)))
    for epoch in (1, 2):
        trial.report(epoch, score=rng.random() + epoch)
    return {"score": rng.random()}


def test_a_train_function_on_ray_equals_the_sequential_run(cluster, tmp_path):
    """``compare(train=fn)`` with the Ray executor: the function is sent to Ray's workers and
    each run returns what it returns in this process."""
    from layerorder.experiment.setup import make_experiment

    results = {}
    for executor in ("ray", "sequential"):
        config = make_experiment({"metric": "score", "orders": ["a", "b"], "seeds": 2,
                                  "executor": executor}, train=_train)
        with Store.open(tmp_path / f"{executor}.db") as store:
            summary = run_sweep(config, store)
            runs = store.runs(summary.experiment.id)
        assert {r.status for r in runs} == {"done"}
        results[executor] = {r.run_key: r.metrics for r in runs}
    assert results["ray"] == results["sequential"]
