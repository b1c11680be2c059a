"""Report info records, computed from the store; ``figures`` draws them, ``html``/``markdown`` lay
them out. Tests check these records, not pixels.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from layerorder.experiment.configuration.plan import stored_plan
from layerorder.experiment.configuration.settings import BY_NAME, RUN, SETTINGS, format_default
from layerorder.experiment.execution.comparison import NAMED_INPUTS, display_name, named_inputs
from layerorder.stats.analysis import Analysis, analyze
from layerorder.stats.summary import t_interval
from layerorder.store.records import EPOCH_COLUMNS
from layerorder.version import __version__


@dataclass(frozen=True)
class ConfigRow:
    """One setting of the report's configuration: its name, its value as a user would type it,
    and what it means (its declared help)."""

    setting: str
    value: str
    meaning: str


@dataclass(frozen=True)
class Curve:
    """One order's metric per epoch: mean over seeds with a 95% t-interval band."""

    label: str
    epochs: tuple[int, ...]
    mean: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    n: int


@dataclass(frozen=True)
class FinalPoints:
    label: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class LrSeries:
    label: str
    lrs: tuple[float, ...]
    means: tuple[float, ...]  # nan where every run diverged
    diverged: tuple[int, ...]


@dataclass(frozen=True)
class RunRow:
    id: int
    label: str
    seed: int
    lr: float
    status: str
    value: float | None  # the compared metric's final value
    train_loss: float | None
    epochs: int
    wall_time: float | None
    note: str  # diverged epoch or the first line of the error


@dataclass(frozen=True)
class ReportInfo:
    title: str
    experiment: dict  # name, id, created_at, generation
    config: tuple[ConfigRow, ...]  # the settings that applied, as a user would type them
    provenance: dict
    analysis: Analysis
    acc_curves: tuple[Curve, ...]
    loss_curves: tuple[Curve, ...]
    finals: tuple[FinalPoints, ...]
    lr_series: tuple[LrSeries, ...]
    runs: tuple[RunRow, ...]
    probes: object | None  # ProbeInfo, when probes were recorded


def _curve(label: str, series: list[dict[int, float]]) -> Curve:
    epochs = sorted({e for s in series for e in s})
    mean, low, high = [], [], []
    for e in epochs:
        vals = [s[e] for s in series if e in s and math.isfinite(s[e])]
        m = sum(vals) / len(vals) if vals else math.nan
        sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
        lo, hi = t_interval(m, sd, len(vals), 0.95) if len(vals) > 1 else (m, m)
        mean.append(m)
        low.append(lo)
        high.append(hi)
    return Curve(label, tuple(epochs), tuple(mean), tuple(low), tuple(high), len(series))


def curves(runs, epochs_by_run, best_lr: dict[str, float], metric: str) -> tuple[Curve, ...]:
    """Per order at its best learning rate, finished runs only: ``metric`` per epoch (a column of
    the built-in loop's epochs, or a metric a user's own run reported)."""
    by_label: dict[str, list[dict[int, float]]] = defaultdict(list)
    for run in runs:
        if run.status == "done" and run.lr == best_lr.get(run.label):
            eps = epochs_by_run.get(run.id, [])
            values = {e.epoch: _epoch_value(e, metric) for e in eps}
            by_label[run.label].append({k: v for k, v in values.items() if v is not None})
    return tuple(_curve(label, series) for label, series in by_label.items()
                 if any(math.isfinite(v) for s in series for v in s.values()))


def _epoch_value(epoch, metric: str) -> float | None:
    if metric in EPOCH_COLUMNS:  # the built-in loop's (NaN where a user's run has none)
        value = getattr(epoch, metric)
        if value is not None and math.isfinite(value):
            return value
    return epoch.metrics.get(metric)


def _lr_series(analysis: Analysis) -> tuple[LrSeries, ...]:
    return tuple(
        LrSeries(
            item.label,
            tuple(p.lr for p in item.points),
            tuple(p.mean for p in item.points),
            tuple(p.n_diverged for p in item.points),
        )
        for item in analysis.lr_table
    )


def _shown_runs(analysis: Analysis, runs) -> list:
    """The runs as the curves and finals group them: with several conditions each run's label
    names its condition too ('standard · batch_size=8')."""
    if len(analysis.conditions) <= 1:
        return list(runs)
    from layerorder.stats.analysis import condition_name

    def name(run) -> str:
        return condition_name([(f, analysis.plan.level_of(run, f)) for f in analysis.factors])

    return [dataclasses.replace(r, label=f"{r.label} · {name(r)}") for r in runs]


def _run_row(run, n_epochs: int, plan) -> RunRow:
    note = ""
    if run.status == "diverged":
        note = f"diverged at epoch {run.diverged_epoch}"
    elif run.status == "failed" and run.error:
        note = run.error.strip().splitlines()[0]
    return RunRow(
        run.id,
        run.label,
        run.seed,
        run.lr,
        run.status,
        plan.value_of(run),
        run.final_train_loss,
        n_epochs,
        run.wall_time,
        note,
    )


def config_rows(stored: Mapping[str, Any], runs) -> tuple[ConfigRow, ...]:
    """The settings that applied to ``runs``: the grid's axes as the runs have them (orders,
    seeds, learning rates), then each stored setting whose value changes what a run computes
    (``Setting.matters``: SGD's momentum is left out under Adam, the built-in architecture and
    its width under a user's model), then what the store records beside them (factors, a
    sequential design, the code's fingerprint)."""
    defaults = {s.name: s.default for s in SETTINGS}
    common = {k: v for k, v in stored.items() if k in BY_NAME}
    # each run's own settings too: a varied factor (optimizer=sgd,adam) is not in the grid
    views = [SimpleNamespace(**{**defaults, **common, **{k: v for k, v in (r.config or {}).items()
                                                         if k in BY_NAME}}) for r in runs]
    views = views or [SimpleNamespace(**{**defaults, **common})]
    axes = {"orders": list(dict.fromkeys(r.label for r in runs)),
            "seeds": sorted({r.seed for r in runs}), "lr": sorted({r.lr for r in runs})}
    rows = [ConfigRow(k, format_default(v), BY_NAME[k].help) for k, v in axes.items()]
    for key, value in stored.items():
        setting = BY_NAME.get(key)
        if setting is None:
            rows.append(ConfigRow(key, _as_typed(value), ""))
        elif setting.role != RUN or any(setting.matters(view) for view in views):
            shown = display_name(value) if key in NAMED_INPUTS else value
            rows.append(ConfigRow(key, _as_typed(shown), setting.help))
    return tuple(rows)


def _as_typed(value: Any) -> str:
    """A stored value as a user would type it: ``num_samples=500``, ``standard, preact``."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_as_typed(v)}" for k, v in value.items()) or "none"
    return format_default(value)


def _provenance(runs) -> dict:
    finished = [r for r in runs if r.provenance]
    prov = dict(finished[0].provenance) if finished else {}
    prov.pop("pid", None)
    devices = sorted({r.provenance.get("device", "?") for r in finished})
    prov["devices"] = ", ".join(devices)
    prov["report generated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    prov["report by"] = f"layerorder {__version__}"
    total = sum(r.wall_time or 0.0 for r in runs)
    prov["total training time"] = f"{total:.1f} s over {len(finished)} runs"
    return prov


def build_info(store, experiment, run_ids=None, analysis=None, options=None) -> ReportInfo:
    """Everything the report shows for one experiment (a ``ExperimentRecord``): all its runs, or
    those of ``run_ids`` (the grid a command just ran, so page and console agree); ``analysis``
    when the caller has already analysed exactly those runs, else ``analyze`` with ``options``
    (margin, baseline; the factors and design come from the experiment)."""
    from layerorder.report.probes import probe_info

    runs = store.runs(experiment.id)
    if run_ids is not None:
        wanted = set(run_ids)
        runs = [r for r in runs if r.id in wanted]
    epochs = store.epochs_for_experiment(experiment.id)
    if analysis is None:
        analysis = analyze(runs, stored_plan(experiment, **(options or {})), epochs=epochs)
    shown = _shown_runs(analysis, runs)
    best_lr = {row.label: row.lr for row in analysis.rows}
    if len(analysis.conditions) > 1:
        best_lr = {f"{row.label} · {row.condition}": row.lr for row in analysis.rows}
    finals = []
    for label in best_lr:
        done = [
            r for r in shown if r.label == label and r.lr == best_lr[label] and r.status == "done"
            and analysis.plan.value_of(r) is not None
        ]
        finals.append(
            FinalPoints(label, tuple(r.seed for r in done),
                        tuple(analysis.plan.value_of(r) for r in done))
        )
    return ReportInfo(
        title=f"layerorder: {experiment.name}",
        experiment={
            "name": experiment.name,
            "id": experiment.id,
            "created_at": experiment.created_at,
            "generation": experiment.generation,
        },
        config=config_rows(experiment.config, runs),
        provenance={**_provenance(runs), **named_inputs(experiment.config)},
        analysis=analysis,
        acc_curves=curves(shown, epochs, best_lr, analysis.plan.metric.name),
        loss_curves=curves(shown, epochs, best_lr, "train_loss"),
        finals=tuple(finals),
        lr_series=_lr_series(analysis),
        runs=tuple(_run_row(r, len(epochs.get(r.id, [])), analysis.plan) for r in runs),
        probes=probe_info(store, runs, best_lr),
    )
