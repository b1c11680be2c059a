"""The Python front door: ``compare``, ``probe_orders``, ``search_orders`` (and ``search_plan``)
and ``lint_model``, each returning typed records.

``compare`` takes every setting the command line takes (by its declared name: ``orders``,
``seeds``, ``lr``, ``p_drop``, ...; see ``layerorder.experiment.configuration.settings``), plus
``data=`` (arrays or tensors, or a pair of torch Datasets) and ``model=`` (a callable returning
an ``nn.Module``). In-memory data and model factories work under every executor: spawned workers
receive them from the driver (``layerorder.experiment.execution.shipping``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.experiment.configuration.probing import (
    PROBE_DEFAULTS,
    probe_settings,
    probe_takes,
)
from layerorder.experiment.configuration.signatures import every_setting, with_settings
from layerorder.experiment.setup import make_experiment
from layerorder.results import Results
from layerorder.search.budget import search_takes
from layerorder.search.setup import search_plan  # the public name: layerorder.search_plan
from layerorder.store import DEFAULT_STORE


def run_comparison(
    config: ExperimentConfig, store: str | Path, *, fresh: bool = False, observer=None
) -> Results:
    """``experiment.execution.comparison.run_comparison``'s comparison, with its views."""
    from layerorder.experiment.execution.comparison import run_comparison as run

    return Results.of(run(config, store, fresh=fresh, observer=observer))


@with_settings(every_setting)
def compare(
    *,
    data: Any = None,
    data_name: str | None = None,
    model: Any = None,
    train: Any = None,
    config: str | Path | None = None,
    store: str | Path = DEFAULT_STORE,
    fresh: bool = False,
    progress: bool = True,
    **settings: Any,
) -> Results:
    """Train several orders side by side over many seeds, store every run, and analyse them.

    ``data``: ``(x_train, y_train, x_test, y_test)`` (numpy arrays or tensors; inputs
    normalised per channel like the built-in data sets) or ``(train_dataset, test_dataset)``;
    ``data_name``: what titles and reports call it (else 'your arrays').
    ``model``: a callable returning an ``nn.Module``, rewritten to each of ``orders``
    (``"as-is"`` keeps it). ``config``: a TOML file (keywords override it). ``store``: the
    SQLite file (runs already in it are not trained again). Other keywords are the settings
    of ``layerorder compare`` by name, e.g. ``orders=["standard", "preact"], seeds=5``.

    ``train``: your own training function as the run, ``train(trial)`` (a ``layerorder.Trial``:
    its order, seed, lr, params and device; ``trial.report(epoch, **metrics)``), returning its
    final metrics (a dict, or one number for ``metric``); name the metric compared with
    ``metric=`` and its direction with ``goal="max"|"min"``; ``params={...}`` reach it as
    ``trial.params``. It starts with Python's, numpy's and torch's generators seeded from its
    seed (yours are put back after it). The driver still owns seeds, pairing, the store,
    executors and the analysis.
    """
    from layerorder.experiment.execution.progress import progress_observer

    cfg = make_experiment(settings, data=data, data_name=data_name, model=model, train=train,
                          config=config)
    if not progress:
        return run_comparison(cfg, store, fresh=fresh)
    with progress_observer() as observer:
        return run_comparison(cfg, store, fresh=fresh, observer=observer)


@with_settings(every_setting)
def compare_plan(
    *,
    data: Any = None,
    data_name: str | None = None,
    model: Any = None,
    train: Any = None,
    config: str | Path | None = None,
    **settings: Any,
):
    """What ``compare`` with the same arguments would train, training nothing: a ``GridPlan``
    (every run's order, seed, lr and run key, the device, the executor's workers and threads)."""
    from layerorder.experiment.execution.runner import plan_grid

    return plan_grid(
        make_experiment(settings, data=data, data_name=data_name, model=model, train=train,
                        config=config))


@with_settings(every_setting)
def store_grid(
    *,
    model: Any = None,
    train: Any = None,
    config: str | Path | None = None,
    store: str | Path = DEFAULT_STORE,
    fresh: bool = False,
    **settings: Any,
):
    """``compare --plan-only``: store the grid ``compare`` with the same settings would train
    (its first round with ``until_decided``) and its analysis plan, training nothing, for pull
    workers (``run_worker``, ``layerorder worker``) to train; returns a ``StoredGrid``.
    ``store``: an SQLite file or a PostgreSQL URL that every worker reaches. ``model`` and
    ``train`` are targets (``"file.py:function"``) that every worker can import: objects made in
    this process cannot reach workers in others."""
    from layerorder.experiment.execution.comparison import store_grid as stored

    cfg = make_experiment(settings, model=model, train=train, config=config)
    return stored(cfg, store, fresh=fresh)


def run_worker(
    store: str | Path = DEFAULT_STORE,
    *,
    experiment: str | None = None,
    study: str | None = None,
    max_runs: int | None = None,
    idle_exit: float = 0.0,
    device: str = "auto",
    lease: float | None = None,
    run_timeout: float | None = None,
):
    """``layerorder worker``: claim runs from ``store`` and train them until every run is
    finished (``idle_exit``: seconds more to wait for new ones); returns a ``WorkerSummary``.
    Any number of workers, on any hosts, may share one store."""
    from layerorder.experiment.execution.pull import work
    from layerorder.store import DEFAULT_LEASE
    from layerorder.studies.spec import experiment_prefix

    return work(str(store), experiment=experiment,
                prefix=experiment_prefix(study) if study is not None else None,
                max_runs=max_runs, idle_exit=idle_exit, device=device,
                lease=DEFAULT_LEASE if lease is None else lease, run_timeout=run_timeout)


def copy_store(source: str | Path, target: str | Path):
    """``layerorder store copy``: copy a whole store into a new one (SQLite into PostgreSQL and
    back), ids and all; returns a ``CopySummary`` (rows copied by table)."""
    from layerorder.store.copy import copy_store as copy

    return copy(source, target)


@with_settings(search_takes, like=search_plan)
def search_orders(
    *,
    data: Any = None,
    data_name: str | None = None,
    model: Any = None,
    config: str | Path | None = None,
    store: str | Path = DEFAULT_STORE,
    progress: bool = True,
    observer=None,
    notes: Callable[[str], None] | None = None,
    **options: Any,
):
    """Find the best order for a model: every arrangement of its block's stages, pruned by
    successive halving on short runs, the finalists compared on fresh seeds until decided.
    Returns a ``SearchResult`` (``best``, ``equivalent``, ``worse``, ``undecided``, the rounds,
    the final ``Results`` and the stored history), its runs kept in ``store`` (a rerun resumes).
    ``options``: ``search_plan``'s keywords (``base``, ``budget``, ``finalists``, ... and the
    settings). ``observer``: a ``SweepObserver`` to report progress to (default: a progress
    display, unless ``progress`` is False)."""
    from layerorder.experiment.execution.progress import progress_observer
    from layerorder.search.run import run_search

    setup = search_plan(data=data, data_name=data_name, model=model, config=config, notes=notes,
                        **options)

    def run(observer=None):
        result = run_search(setup.settings, setup.space, setup.plan, store, name=setup.name,
                            data=data, data_name=data_name, model=model,
                            seconds=setup.budget.seconds,
                            observer=observer)
        return replace(result, final=Results.of(result.final))  # with its views

    if observer is not None or not progress:
        return run(observer)
    with progress_observer() as shown:
        return run(shown)


@dataclass(frozen=True)
class ProbeResults:
    """What ``probe`` measured: one ``OrderProbe`` per order (at init and after training)."""

    orders: tuple  # each stage's statistics carry their histogram's range

    def to_pandas(self):
        """One row per order, phase (init, trained) and stage: the stage's statistics."""
        import dataclasses

        import pandas as pd

        rows = []
        for o in self.orders:
            for phase, snap in (("init", o.init), ("trained", o.trained)):
                for position, s in enumerate(snap.stages):
                    stats = {k: v for k, v in dataclasses.asdict(s).items() if k != "hist"}
                    rows.append({"order": o.label, "phase": phase, "position": position, **stats})
        return pd.DataFrame(rows)

    def plot(self):
        """Signed histograms per stage, at init and trained: one matplotlib Figure per order,
        in a list that Jupyter shows as the images."""
        from layerorder.report import figures
        from layerorder.report.probes import order_probe_series

        return figures.Figures(
            figures.stage_histograms(order_probe_series(o.label, 0, 0, o.snapshots()))
            for o in self.orders
        )

    def to_dict(self) -> dict[str, Any]:
        """Every order's records, as ``layerorder probe --json`` holds them."""
        import dataclasses

        return {"orders": [dataclasses.asdict(o) for o in self.orders]}

    def __str__(self) -> str:
        """What ``layerorder probe`` prints, without colour."""
        from layerorder.report.terminal import probe_view
        from layerorder.terminal import as_text

        return as_text(probe_view(list(self.orders)))

    def _repr_html_(self) -> str:
        frame = self.to_pandas()
        cols = ["order", "phase", "position", "name", "frac_positive", "skewness", "std"]
        return frame[[*cols, "dead_units", "units"]].to_html(index=False, float_format="%.3f")


@with_settings(probe_takes, PROBE_DEFAULTS)
def probe_orders(
    *,
    data: Any = None,
    data_name: str | None = None,
    model: Any = None,
    seed: int = 0,
    recalibrate: bool = False,
    **settings: Any,
) -> ProbeResults:
    """Probe each order at init and after ``epochs`` epochs of training (default: standard and
    act-first, 5 epochs): signed stage statistics, dead units, gradient flow, variance shift."""
    from layerorder.experiment.training import probing

    cfg = make_experiment(probe_settings(settings), data=data, data_name=data_name, model=model)
    results = probing.probe_orders(cfg, seed=seed, recalibrate=recalibrate)
    return ProbeResults(tuple(results))


def lint_model(model: Any, input_shape=None, **kwargs: Any):
    """Lint an ``nn.Module``, a ``keras.Model``, an ``onnx.ModelProto``, a zero-argument factory
    of one, or a target string (``models.py:make_model``, ``model.keras``, ``net.onnx``): its
    ordering patterns, findings and BN folds, as a ``LintReport``."""
    from layerorder.lint import lint_any
    from layerorder.modelgraph.formats import format_of_object

    if not isinstance(model, str) and format_of_object(model) is None and callable(model):
        from torch import nn

        if not isinstance(model, nn.Module):
            model = model()
    return lint_any(model, input_shape=input_shape, **kwargs)  # example=, mode=, target=, timeout=
