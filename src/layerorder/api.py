"""The Python front door: ``compare``, ``probe`` and ``lint``, each returning typed records.

``compare`` takes every setting the command line takes (by its declared name:
``orders``, ``seeds``, ``lr``, ``p_drop``, ...; see ``layerorder.experiment.settings``), plus
``data=`` (arrays or tensors, or a pair of torch Datasets) and ``model=`` (a callable returning
an ``nn.Module``). In-memory data and model factories work under every executor: spawned workers
receive them from the driver (``layerorder.experiment.shipping``).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerorder.errors import ConfigError
from layerorder.experiment.config import ExperimentConfig, load_toml, merge_config
from layerorder.results import Results

DEFAULT_STORE = "layerorder.db"


def _model_target(model: Any) -> str | None:
    """A model setting as a config holds it: a target string; callables are registered."""
    from layerorder.experiment.shipping import register_model_factory

    if model is None:
        return None
    if isinstance(model, str) and model.strip().startswith("__main__:"):
        # the driver's own __main__ (a notebook, ``python -c``): workers have another one
        attr = model.strip().split(":", 1)[1]
        main = sys.modules.get("__main__")
        if main is None or not hasattr(main, attr):
            raise ConfigError(f"model '{model}': __main__ has no attribute '{attr}'")
        return register_model_factory(getattr(main, attr))
    if isinstance(model, str):
        return model
    return register_model_factory(model)


def make_experiment(
    settings: dict[str, Any],
    *,
    data: Any = None,
    model: Any = None,
    config: str | Path | None = None,
    notes: Callable[[str], None] | None = None,
) -> ExperimentConfig:
    """A checked config from a TOML file, then ``settings`` (keyword values win), with the
    caller's data and model registered; notes on settings without effect go to ``notes``."""
    from layerorder.data.memory import register_arrays
    from layerorder.experiment.validate import validate

    values = {k: v for k, v in settings.items() if v is not None}
    if data is not None:
        values["dataset"] = register_arrays(data)
    if model is not None or "model" in values:
        values["model"] = _model_target(values.get("model") if model is None else model)
    file_values = load_toml(config) if config is not None else {}
    source = f"'{config}'" if config is not None else "arguments"
    cfg = merge_config(file_values, values, source)
    for line in validate(cfg):
        (notes or _warn)(line)
    return cfg


def _warn(line: str) -> None:
    warnings.warn(line, UserWarning, stacklevel=4)


def run_comparison(
    config: ExperimentConfig, store: str | Path, *, fresh: bool = False, observer=None
) -> Results:
    """Train what ``store`` lacks of ``config``'s grid and analyse the grid's runs (once). With
    ``until_decided``, seeds are trained in rounds until every pair is decided."""
    from layerorder.experiment.plan import analysis_plan
    from layerorder.experiment.rounds import rounds
    from layerorder.experiment.runner import load_checked_data, run_sweep
    from layerorder.stats.analysis import analyze
    from layerorder.store import Store

    load_checked_data(config)  # before the store is opened (or created)
    plan = analysis_plan(config)
    trained = 0
    with Store.open(store) as db:
        looks = rounds(config)
        for i, round_config in enumerate(looks):
            summary = run_sweep(
                round_config, db, fresh=fresh and i == 0, observer=observer, grid=config.grid()
            )
            trained += summary.trained
            wanted = set(summary.run_ids)
            runs = tuple(r for r in db.runs(summary.experiment.id) if r.id in wanted)
            epochs = db.epochs_for_experiment(summary.experiment.id)
            analysis = analyze(runs, plan, epochs=epochs)
            if len(looks) > 1 and observer is not None:
                observer.note(_round_note(analysis, len(round_config.seeds), i == len(looks) - 1))
            if analysis.decided:
                break
        db.save_plan(summary.experiment.id, plan.to_stored())
        return _results(db, summary.experiment, runs, analysis, trained, epochs)


def _results(db, experiment, runs, analysis, trained: int, every) -> Results:
    """``every``: the experiment's epochs as ``Store.epochs_for_experiment`` returns them (read
    once, for the analysis and the results alike)."""
    epochs = {r.id: tuple(every.get(r.id, ())) for r in runs}
    return Results(Path(db.path), experiment, runs, epochs, analysis, trained)


def stored_comparison(config: ExperimentConfig, store) -> Results | None:
    """The results of ``config``'s grid as ``store`` (an open ``Store``) holds them, training
    nothing; None when the experiment is not stored or none of its runs has finished."""
    from layerorder.experiment.plan import analysis_plan
    from layerorder.experiment.rounds import rounds
    from layerorder.experiment.runner import run_specs
    from layerorder.stats.analysis import analyze

    experiment = store.stored_experiment(config.name, config.grid())
    if experiment is None:
        return None
    keys = {s.run_key for r in rounds(config) for s in run_specs(r)}
    runs = tuple(r for r in store.runs(experiment.id) if r.run_key in keys)
    if not any(r.status in ("done", "diverged", "failed") for r in runs):
        return None
    epochs = store.epochs_for_experiment(experiment.id)
    analysis = analyze(runs, analysis_plan(config), epochs=epochs)
    return _results(store, experiment, runs, analysis, 0, epochs)


def _round_note(analysis, seeds: int, last: bool) -> str:
    """What a look of ``--until-decided`` found: decided pairs, and whether another round comes."""
    open_ = [d for d in analysis.decisions if d.decision == "undecided"]
    total = len(analysis.decisions)
    head = f"look at {seeds} seeds: {total - len(open_)} of {total} pairs decided"
    if not open_:
        return head + "; stopping"
    if last:
        return head + "; --max-seeds reached, the rest stay undecided"
    return head + "; training another round"


def compare(
    *,
    data: Any = None,
    model: Any = None,
    config: str | Path | None = None,
    store: str | Path = DEFAULT_STORE,
    fresh: bool = False,
    progress: bool = True,
    **settings: Any,
) -> Results:
    """Train several orders side by side over many seeds, store every run, and analyse them.

    ``data``: ``(x_train, y_train, x_test, y_test)`` (numpy arrays or tensors; inputs
    normalised per channel like the built-in data sets) or ``(train_dataset, test_dataset)``.
    ``model``: a callable returning an ``nn.Module``, rewritten to each of ``orders``
    (``"as-is"`` keeps it). ``config``: a TOML file (keywords override it). ``store``: the
    SQLite file (runs already in it are not trained again). Other keywords are the settings
    of ``layerorder compare`` by name, e.g. ``orders=["standard", "preact"], seeds=5``.
    """
    from layerorder.experiment.progress import RichObserver

    cfg = make_experiment(settings, data=data, model=model, config=config)
    if not progress:
        return run_comparison(cfg, store, fresh=fresh)
    observer = RichObserver()
    with observer:
        return run_comparison(cfg, store, fresh=fresh, observer=observer)


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
        """Signed histograms per stage, at init and trained: one matplotlib Figure per order."""
        from layerorder.report import figures
        from layerorder.report.probes import order_probe_series

        return [
            figures.stage_histograms(order_probe_series(o.label, 0, 0, o.snapshots()))
            for o in self.orders
        ]

    def _repr_html_(self) -> str:
        frame = self.to_pandas()
        cols = ["order", "phase", "position", "name", "frac_positive", "skewness", "std"]
        return frame[[*cols, "dead_units", "units"]].to_html(index=False, float_format="%.3f")


def probe_orders(
    *,
    data: Any = None,
    model: Any = None,
    seed: int = 0,
    recalibrate: bool = False,
    **settings: Any,
) -> ProbeResults:
    """Probe each order at init and after ``epochs`` epochs of training (default: standard and
    act-first, 5 epochs): signed stage statistics, dead units, gradient flow, variance shift."""
    from layerorder.experiment import probing

    cfg = make_experiment(probing.probe_settings(settings), data=data, model=model)
    results = probing.probe_orders(cfg, seed=seed, recalibrate=recalibrate)
    return ProbeResults(tuple(results))


def lint_model(model: Any, input_shape=None, **kwargs: Any):
    """Lint an ``nn.Module``, a ``keras.Model``, an ``onnx.ModelProto``, a zero-argument factory
    of one, or a target string (``models.py:make_model``, ``model.keras``, ``net.onnx``): its
    ordering patterns, findings and BN folds, as a ``LintReport``."""
    from layerorder.lint import lint_any
    from layerorder.lint.formats import format_of_object

    if not isinstance(model, str) and format_of_object(model) is None and callable(model):
        from torch import nn

        if not isinstance(model, nn.Module):
            model = model()
    return lint_any(model, input_shape=input_shape, **kwargs)  # example=, mode=, target=, timeout=
