"""The public Python API: ``layerorder.compare`` / ``probe`` / ``lint`` and ``Results``."""

import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

import layerorder
from layerorder.data.base import DatasetError
from layerorder.errors import ConfigError

TINY = {"epochs": 2, "batch_size": 50, "executor": "sequential", "progress": False}


def _arrays(n=300, d=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ rng.normal(size=(d, classes))).argmax(1)
    cut = n * 4 // 5
    return x[:cut], y[:cut], x[cut:], y[cut:]


def make_model():
    return nn.Sequential(
        nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3)
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    store = tmp_path_factory.mktemp("api") / "api.db"
    return layerorder.compare(
        data=_arrays(),
        model=make_model,
        orders=["as-is", "linear-relu-bn-drop"],
        seeds=2,
        store=store,
        **TINY,
    )


def test_public_names():
    assert {"compare", "probe", "lint", "Results", "SETTINGS"} <= set(layerorder.__all__)


def test_results_views(results):
    df = results.to_pandas()
    assert len(df) == 4 and df.columns.is_unique
    assert set(df["status"]) == {"done"} and sorted(df["seed"]) == [0, 0, 1, 1]
    assert set(df["order"]) == {"as-is", "linear-relu-bn-drop"}
    row = df[df["order"] == "linear-relu-bn-drop"].iloc[0]
    assert row["spec"] == "linear-relu-bn-drop" and row["preset"] is None
    curves = results.curves()
    assert len(curves) == 4 * 2 and curves.columns.is_unique and "epoch_lr" in curves
    summary = results.summary
    assert list(summary.index) == ["as-is", "linear-relu-bn-drop"]
    assert (summary["ci_low"] >= 0).all() and (summary["ci_high"] <= 100).all()
    for order, mean in summary["mean"].items():
        assert mean == pytest.approx(df[df["order"] == order]["final_test_acc"].mean())
    html = results._repr_html_()
    assert "<table" in html and "Verdict" in html and results.verdict.text[:20] in html
    assert results.title.startswith("your arrays / make_model")  # no fingerprints in titles


def test_vary_baseline_and_margin_from_python(tmp_path):
    results = layerorder.compare(
        data=_arrays(), orders=["standard", "no-norm"], arch="mlp", width=16, seeds=2,
        vary={"batch_size": [25, 50]}, baseline="standard", margin=100.0,
        store=tmp_path / "v.db", **{k: v for k, v in TINY.items() if k != "batch_size"},
    )
    decisions = results.decisions
    assert list(decisions["condition"]) == ["batch_size=25", "batch_size=50"]
    runs = results.to_pandas()
    assert sorted(runs["batch_size"]) == [25, 25, 25, 25, 50, 50, 50, 50]
    assert set(decisions["decision"]) == {"equivalent"}  # every difference is inside 100 points
    assert list(decisions["b"]) == ["standard", "standard"]
    assert [c.name for c in results.analysis.conditions] == list(decisions["condition"])
    assert results.analysis.interactions[0].factor == "batch_size"
    assert "Against the baseline" not in results.verdict.text  # the conditional verdict
    assert "At batch_size=25: no-norm is equivalent to standard within ±100 points" in (
        results.verdict.text
    )


def test_plot_and_report_leave_matplotlib_alone(results, tmp_path):
    backend = matplotlib.get_backend()
    before = dict(matplotlib.rcParams)
    fig = results.plot()
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2
    page = results.report(tmp_path / "r.html")
    assert "linear-relu-bn-drop" in page.read_text()
    assert matplotlib.get_backend() == backend
    assert dict(matplotlib.rcParams) == before


def test_resuming_trains_nothing(results):
    again = layerorder.compare(
        data=_arrays(),
        model=make_model,
        orders=["as-is", "linear-relu-bn-drop"],
        seeds=2,
        store=results.store,
        **TINY,
    )
    assert again.trained == 0 and [r.id for r in again.runs] == [r.id for r in results.runs]


def test_other_data_is_another_experiment(results):
    other = layerorder.compare(
        data=_arrays(seed=1),
        model=make_model,
        orders=["as-is"],
        seeds=1,
        store=results.store,
        **TINY,
    )
    assert other.trained == 1 and other.experiment.id != results.experiment.id


def test_torch_datasets_as_data(tmp_path):
    x_tr, y_tr, x_te, y_te = _arrays()
    train = torch.utils.data.TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr))
    test = torch.utils.data.TensorDataset(torch.from_numpy(x_te), torch.from_numpy(y_te))
    r = layerorder.compare(
        data=(train, test),
        arch="mlp",
        orders=["standard"],
        seeds=1,
        store=tmp_path / "d.db",
        width=8,
        **TINY,
    )
    assert r.runs[0].status == "done" and r.title.startswith("your arrays /")


@pytest.mark.parametrize(
    "kwargs,error,fragment",
    [
        ({"data": (np.zeros((10, 3)),)}, DatasetError, "data= takes"),
        ({"orders": ["standrd"]}, ValueError, "preset 'standard'"),
        ({"order": ["standard"]}, ConfigError, "did you mean 'orders'"),
        ({"model": nn.Linear(3, 3)}, ConfigError, "callable returning an nn.Module"),
        ({"model": lambda: 3}, ConfigError, "must return an nn.Module"),
    ],
)
def test_bad_arguments_are_clear(tmp_path, kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        layerorder.compare(store=tmp_path / "x.db", **{**TINY, **kwargs})
    assert not (tmp_path / "x.db").exists()


def test_data_with_nan_names_the_sample(tmp_path):
    x_tr, y_tr, x_te, y_te = _arrays()
    x_tr[7, 3] = np.nan
    with pytest.raises(DatasetError, match="train sample 7 has a NaN"):
        layerorder.compare(data=(x_tr, y_tr, x_te, y_te), store=tmp_path / "n.db", **TINY)


def test_probe_and_lint():
    probed = layerorder.probe_orders(
        dataset="synthetic", data_options={"num_samples": 200}, arch="mlp", width=8, epochs=1
    )
    frame = probed.to_pandas()
    assert set(frame["order"]) == {"standard", "act-first"}
    assert set(frame["phase"]) == {"init", "trained"}
    assert "<table" in probed._repr_html_()
    figs = probed.plot()
    assert len(figs) == 2 and all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    report = layerorder.lint_model(make_model(), (2, 12))
    assert report.pattern_count("linear→bn→relu") == 1
    assert [f.rule for f in report.findings] == ["redundant-bias"]
    frame = report.to_pandas()
    assert list(frame["rule"]) == ["redundant-bias"] and "redundant-bias" in report._repr_html_()



def test_calling_the_packages_still_works_for_one_release_with_a_warning():
    """``layerorder.lint(...)`` and ``layerorder.probe(...)`` (the packages) forward to
    ``lint_model`` and ``probe_orders`` and say so."""
    with pytest.warns(DeprecationWarning, match=r"call layerorder\.lint_model\(\.\.\.\)"):
        report = layerorder.lint(make_model(), (2, 12))
    assert [f.rule for f in report.findings] == ["redundant-bias"]
    with pytest.warns(DeprecationWarning, match="probe_orders"):
        probed = layerorder.probe(dataset="synthetic", data_options={"num_samples": 200},
                                  arch="mlp", width=8, epochs=1, orders=["standard"])
    assert set(probed.to_pandas()["order"]) == {"standard"}
    from layerorder.probe import EpochProbe  # the package's own names are untouched

    assert EpochProbe.__module__ == "layerorder.probe.training"


def test_importing_the_probe_package_loads_probes_only():
    """What a user's own training loop imports (``from layerorder.probe import EpochProbe``)
    loads neither the store, the statistics nor scipy (``python -X importtime`` lists them)."""
    code = "from layerorder.probe import EpochProbe"
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()
              if line.startswith("import time:")}
    assert "layerorder.probe.training" in loaded
    heavy = {m for m in loaded if m.split(".")[0] == "scipy"
             or m.startswith(("layerorder.stats", "layerorder.store", "layerorder.api",
                              "layerorder.experiment", "layerorder.cli"))}
    assert not heavy, sorted(heavy)[:10]


SCRIPT = textwrap.dedent(
    """
    import os
    import numpy as np, torch, layerorder
    from torch import nn
    from layerorder.data import register_dataset
    from layerorder.data.entry import DatasetEntry
    from layerorder.data.arrays import build_dataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12)).astype("float32")
    y = (x @ rng.normal(size=(12, 3))).argmax(1)

    def make_model():
        return nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(),
                             nn.Dropout(0.1), nn.Linear(16, 3))

    def load(info, seed, options):
        return build_dataset(info, x_train=x[:240], y_train=y[:240], x_test=x[240:],
                             y_test=y[240:], in_shape=(12,), num_classes=3, options=options)

    register_dataset(DatasetEntry("mine", "registered in __main__", "here", (12,), 3, "240/60",
                                  (), load))
    mine = layerorder.compare(dataset="mine", model="__main__:make_model", orders=["as-is"],
                              seeds=2, epochs=1, store="b.db", progress=False,
                              executor="process", workers=2)
    assert [x.status for x in mine.runs] == ["done", "done"], [x.error for x in mine.runs]
    pids = {x.provenance["pid"] for x in mine.runs}
    assert os.getpid() not in pids, pids  # trained in the spawned workers
    print("OK")
    """
)


@pytest.mark.slow
def test_python_c_script_registers_a_data_set_and_names_its_model(tmp_path):
    """No __main__ file (as in Jupyter): a data set registered there and a ``__main__:factory``
    model reach spawned pool workers (the README example, run in a Jupyter kernel by
    tests/report/test_notebook.py, covers in-memory arrays and a factory callable)."""
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK" in proc.stdout


def test_stacked_executor_with_in_memory_data_and_a_factory(tmp_path):
    """A user's model is trained run by run under the stacked executor (it may reshape by
    fixed sizes); its results equal the sequential executor's."""
    runs = {}
    for executor in ("sequential", "stacked"):
        r = layerorder.compare(
            data=_arrays(),
            model=make_model,
            orders=["as-is"],
            seeds=2,
            epochs=2,
            batch_size=50,
            executor=executor,
            store=tmp_path / f"{executor}.db",
            progress=False,
        )
        runs[executor] = [(x.status, x.final_test_acc) for x in r.runs]
    assert runs["stacked"] == runs["sequential"] and runs["stacked"][0][0] == "done"


TRAIN_SCRIPT = """
import math, random
import numpy as np
import torch
import layerorder

def train(trial):
    rng = random.Random(trial.seed)
    shift = {"standard": 0.0, "preact": 0.2}[str(trial.order)]
    loss = 1.0 + shift + rng.gauss(0, 0.01)
    for epoch in range(1, 4):
        trial.report(epoch, val_loss=loss + 1 / epoch)
    # what the global generators give a function that never seeds them: the run's seed's
    draw = random.random() + float(np.random.rand()) + float(torch.rand(1))
    return {"val_loss": loss, "width": trial.params["width"], "draw": draw}

r = layerorder.compare(train=train, orders=["standard", "preact"], seeds=4, metric="val_loss",
                       goal="min", params={"width": 8}, store="s.db", progress=False)
df = r.to_pandas()
assert len(df) == 8 and set(df.status) == {"done"}, df
assert list(df.width) == [8.0] * 8 and r.verdict.best == "standard", r.verdict.text
assert "lower is better" in r.verdict.text
pooled = layerorder.compare(train=train, orders=["standard", "preact"], seeds=4,
                            metric="val_loss", goal="min", params={"width": 8}, store="p.db",
                            progress=False, executor="process", workers=2)
import os
assert os.getpid() not in {x.provenance["pid"] for x in pooled.runs}  # shipped to the workers
def key(res):
    return sorted((x.label, x.seed, x.metrics["val_loss"], x.metrics["draw"]) for x in res.runs)
assert key(pooled) == key(r)
draws = {(x.label, x.seed): x.metrics["draw"] for x in r.runs}
assert len(set(draws.values())) == 4, draws  # one per seed, the same for both orders
assert all(draws["standard", s] == draws["preact", s] for s in range(4)), draws
print("OK", r.to_pandas().shape)
"""


def test_a_train_function_from_a_python_c_script_runs_on_the_default_executor(tmp_path):
    """``compare(train=fn)`` with ``fn`` defined in ``python -c`` (no __main__ file, as in a
    notebook): under the default executor every run is done and ``to_pandas()`` has one row per
    run with the metrics it returned; a process pool's spawned workers get the function and
    give the same metrics."""
    proc = subprocess.run([sys.executable, "-c", TRAIN_SCRIPT], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK (8," in proc.stdout


def test_every_result_has_the_same_views(tmp_path):
    """Results, ProbeResults and LintReport: to_pandas(), to_dict(), an HTML view and a __str__
    that is what the command prints, without colour (docs/python.md, "Results")."""
    import json


    small = {"dataset": "synthetic", "data_options": {"num_samples": 200}, "arch": "mlp",
             "width": 8, "epochs": 1}
    results = layerorder.compare(**small, orders=["standard", "act-first"], seeds=2,
                                 executor="sequential", store=tmp_path / "s.db", progress=False)
    probed = layerorder.probe_orders(**small, orders=["standard"])
    report = layerorder.lint_model(nn.Sequential(nn.Linear(4, 8), nn.Dropout(), nn.BatchNorm1d(8),
                                                 nn.ReLU()), (2, 4))
    for result in (results, probed, report):
        assert not result.to_pandas().empty
        json.dumps(result.to_dict(), default=str)
        assert result._repr_html_().count("<table") >= 1
        text = str(result)
        assert "\x1b[" not in text and not text.startswith(type(result).__name__ + "(")
    assert "Verdict:" in str(results) and results.verdict.text in " ".join(str(results).split())
    assert str(results.verdict) == results.verdict.text
    assert "Stage statistics on the probe batch" in str(probed)
    assert "dropout-before-norm" in str(report) and "fix:" in str(report)
    assert report.to_dict()["findings"][0]["rule"] == "dropout-before-norm"
    assert (tmp_path / "r.html") == results.report(tmp_path / "r.html")


STATE_SCRIPT = """
import random
import numpy as np
import torch

def state():
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return (random.getstate(), (kind, key.tolist(), pos, has_gauss, gauss),
            torch.get_rng_state().tolist(), torch.get_num_threads())

from torch import nn

linted = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4))
random.seed(7); np.random.seed(7); torch.manual_seed(7); torch.set_num_threads(1)
before = state()
import layerorder  # imports rich, which draws from random's generator once

small = dict(dataset="synthetic", arch="mlp", width=8, epochs=1, progress=False,
             data_options={"num_samples": 64}, device="cpu")
for name, call in [  # runs trained in this process (a pool's workers change nothing here)
    ("compare", lambda: layerorder.compare(orders=["standard", "act-first"], seeds=2,
                                           store="s.db", executor="sequential", **small)),
    ("probe_orders", lambda: layerorder.probe_orders(orders=["standard"], **{
        k: v for k, v in small.items() if k != "progress"})),
    ("search_orders", lambda: layerorder.search_orders(store="q.db", executor="sequential",
                                                       **small)),
    ("lint_model", lambda: layerorder.lint_model(linted, input_shape=(1, 3, 8, 8))),
]:
    call()
    assert state() == before, name + " changed the caller's generators or threads"
print("OK")
"""


def test_the_api_leaves_the_callers_generators_and_threads_as_they_were(tmp_path):
    """A notebook that seeded Python's, numpy's and torch's generators and set its threads has
    them as they were after ``import layerorder``, ``compare``, ``probe_orders``,
    ``search_orders`` and ``lint_model``: in a fresh interpreter, since the first import of rich
    (the terminal displays) draws from Python's generator."""
    proc = subprocess.run([sys.executable, "-c", STATE_SCRIPT], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK" in proc.stdout
