"""A comparison of orders, run: train what the store lacks of a config's grid (in rounds with
``until_decided``), analyse the grid's runs with the experiment's plan, store the plan, and
return the ``Comparison`` record (``run_comparison``); or read it back without training
(``stored_comparison``). ``layerorder.results.Results`` is this record with its views."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerorder.data.memory import PREFIX as MEMORY
from layerorder.experiment.configuration.callables import PREFIX as CALLABLE
from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.experiment.configuration.plan import analysis_plan
from layerorder.experiment.configuration.rounds import rounds
from layerorder.experiment.execution.runner import (
    KeptExecutor,
    load_checked_data,
    run_specs,
    run_sweep,
)
from layerorder.stats.analysis import Analysis, analyze
from layerorder.stats.table import ResultsTable, results_table
from layerorder.stats.verdict import Verdict
from layerorder.store import EpochRecord, ExperimentRecord, RunRecord, Store
from layerorder.store.location import argument, shown
from layerorder.store.records import FINISHED_STATUSES

RUN_COLUMNS = (
    "run_id",
    "order",
    "spec",
    "preset",
    "seed",
    "lr",
    "status",
    "final_test_acc",
    "final_test_loss",
    "final_train_loss",
    "diverged_epoch",
    "wall_time",
)
# the built-in loop's epoch metrics; a user's own run reports metrics by name (``metrics``)
def reported_names(records) -> tuple[str, ...]:
    """The names of the metrics a user's runs reported over ``records`` (runs or epochs), sorted;
    none for the built-in loop's."""
    return tuple(sorted({k for r in records for k in (r.metrics or {})}))


def describe_order(label: str) -> tuple[str, str | None]:
    """(canonical spec, preset name or None) of an order label; a label that is no spec (a
    residual unit, ``as-is``) is its own spec."""
    from layerorder.order import PRESETS, parse_order

    try:
        spec = parse_order(label).spec
    except ValueError:
        return label, None
    return spec, (label if label in PRESETS else None)


# the settings that name what the user handed over in Python: data (``memory:NAME@hash``), a
# model factory or a training function (``python:NAME@hash``)
NAMED_INPUTS = ("dataset", "model", "train")


def display_name(value: Any) -> Any:
    """What a title or a table calls a data set, a model or a training function: the user's own
    name (``data_name=``, the function's name) without its fingerprint; arrays given without a
    name are 'your arrays'. Other values are returned as they are."""
    if not isinstance(value, str):
        return value
    for prefix in (MEMORY, CALLABLE):
        if value.startswith(prefix):
            name, at, _ = value[len(prefix):].rpartition("@")
            if not at:
                return "your arrays" if prefix == MEMORY else value[len(prefix):]
            return name
    return value


def named_inputs(config: dict[str, Any]) -> dict[str, str]:
    """Each input handed over in Python by its full stored name, fingerprint included (for a
    report's provenance, where titles show ``display_name``)."""
    return {key: config[key] for key in NAMED_INPUTS
            if isinstance(config.get(key), str) and config[key].startswith((MEMORY, CALLABLE))}


def model_title(config: dict[str, Any]) -> str:
    """ "data set / model" as the tables title a comparison: the user's model where one was used;
    a user's own run: its command (cut to 60 characters) or its training function."""
    if config.get("command"):
        command = " ".join(str(config["command"]).split())
        return command if len(command) <= 60 else command[:57] + "..."
    if config.get("train"):
        return f"train {display_name(config['train'])}"
    model = config.get("model")
    name = display_name(model) if model else config.get("arch", "?")
    return f"{display_name(config.get('dataset', '?'))} / {name}"


@dataclass(frozen=True)
class Comparison:
    """A finished comparison: every run of its grid, their epochs and the analysis
    (``layerorder.results.Results`` adds the views)."""

    store: str  # the store's file path or URL, as given
    experiment: ExperimentRecord
    runs: tuple[RunRecord, ...]
    epochs: dict[int, tuple[EpochRecord, ...]]
    analysis: Analysis
    trained: int  # runs trained by the call that made these results (the rest were stored)

    @property
    def title(self) -> str:
        """Names the seeds the analysis covers (finished runs), and any runs not finished
        (held by another driver, or handed back by an interrupt)."""
        finished = [r for r in self.runs if r.status in FINISHED_STATUSES]
        per_order: dict[str, set[int]] = {}
        for r in finished:
            per_order.setdefault(r.label, set()).add(r.seed)
        counts = sorted({len(s) for s in per_order.values()}) or [0]
        # orders left out of later rounds of a sequential design have fewer seeds
        n = counts[0] if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        plural = "s" * (counts[-1] != 1)
        head = model_title(self.experiment.config)
        title = f"{head}: final {self.analysis.plan.metric.noun} over {n} seed{plural}"
        if len(counts) > 1:
            title += " per order"
        open_runs = len(self.runs) - len(finished)
        if open_runs:
            title += f" ({open_runs} of {len(self.runs)} runs not finished)"
        return title

    @property
    def table(self) -> ResultsTable:
        return results_table(self.analysis, self.title)

    @property
    def verdict(self) -> Verdict:
        """``.text`` is the plain-language verdict; the other fields are its parts."""
        return self.analysis.verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment.name,
            "experiment_id": self.experiment.id,
            "store": shown(self.store),
            "title": self.title,
            "trained_now": self.trained,
            "runs_not_finished": sum(r.status not in FINISHED_STATUSES for r in self.runs),
            # the analysis as the JSON has always had it: the plan's fields at the top
            **{k: v for k, v in dataclasses.asdict(self.analysis).items() if k != "plan"},
            **{k: getattr(self.analysis, k) for k in ("factors", "margin", "baseline", "looks")},
        }


@dataclass(frozen=True)
class StoredGrid:
    """A grid stored for pull workers, nothing trained (``compare --plan-only``)."""

    store: str
    experiment: ExperimentRecord
    runs: int  # runs of the grid stored (the first round of a sequential design)
    added: int  # of those, how many this call added
    rounds: int  # rounds of the design: later ones are stored by a coordinator

    def worker_command(self) -> str:
        return f"layerorder worker --store {argument(self.store)} --experiment {self.experiment.id}"


def store_grid(config: ExperimentConfig, store: str | Path, *, fresh: bool = False) -> StoredGrid:
    """Store ``config``'s grid (its first round with ``until_decided``) and its analysis plan,
    training nothing, as ``run_comparison`` would store them: workers then train the runs and a
    later ``run_comparison`` of the same config finds them."""
    if not config.user_run:
        load_checked_data(config)  # bad data is refused before anything is stored
    looks = rounds(config)
    specs = run_specs(looks[0])
    with Store.open(store) as db:
        experiment = db.experiment(config.name, config.grid(), fresh=fresh)
        added = db.add_runs(experiment.id, specs)
        db.save_plan(experiment.id, analysis_plan(config).to_stored())
        return StoredGrid(db.path, experiment, len(specs), added, len(looks))


def run_comparison(
    config: ExperimentConfig, store: str | Path, *, fresh: bool = False, observer=None
) -> Comparison:
    """Train what ``store`` lacks of ``config``'s grid and analyse the grid's runs (once). With
    ``until_decided``, seeds are trained in rounds until every pair is decided."""
    if not config.user_run:  # a user's own run brings its own data
        load_checked_data(config)  # before the store is opened (or created)
    plan = analysis_plan(config)
    trained = 0
    # one worker pool, and one load of the data, for every round
    with Store.open(store) as db, KeptExecutor() as keep:
        looks = rounds(config)
        keys: set[str] = set()
        only = None  # every run of the first round; later, the orders of undecided pairs
        for i, round_config in enumerate(looks):
            summary = run_sweep(
                round_config, db, fresh=fresh and i == 0, observer=observer, grid=config.grid(),
                keep=keep, only=only,
            )
            trained += summary.trained
            keys |= {s.run_key for s in run_specs(round_config)}
            runs = tuple(r for r in db.runs(summary.experiment.id) if r.run_key in keys)
            epochs = db.epochs_for_experiment(summary.experiment.id)
            analysis = analyze(runs, plan, epochs=epochs)
            if len(looks) > 1 and observer is not None:
                observer.note(_round_note(analysis, len(round_config.seeds), i == len(looks) - 1))
            if analysis.decided:
                break
            only = _undecided(analysis)
        db.save_plan(summary.experiment.id, plan.to_stored())
        return _comparison(db, summary.experiment, runs, analysis, trained, epochs)


def _comparison(db, experiment, runs, analysis, trained: int, every) -> Comparison:
    """``every``: the experiment's epochs as ``Store.epochs_for_experiment`` returns them (read
    once, for the analysis and the results alike)."""
    epochs = {r.id: tuple(every.get(r.id, ())) for r in runs}
    return Comparison(db.path, experiment, runs, epochs, analysis, trained)


def stored_comparison(config: ExperimentConfig, store) -> Comparison | None:
    """The results of ``config``'s grid as ``store`` (an open ``Store``) holds them, training
    nothing; None when the experiment is not stored or none of its runs has finished."""
    experiment = store.stored_experiment(config.name, config.grid())
    if experiment is None:
        return None
    keys = {s.run_key for r in rounds(config) for s in run_specs(r)}
    runs = tuple(r for r in store.runs(experiment.id) if r.run_key in keys)
    if not any(r.status in ("done", "diverged", "failed") for r in runs):
        return None
    epochs = store.epochs_for_experiment(experiment.id)
    analysis = analyze(runs, analysis_plan(config), epochs=epochs)
    return _comparison(store, experiment, runs, analysis, 0, epochs)


def _undecided(analysis):
    """Which runs the next round trains: those of the orders of undecided pairs, in their
    condition (``stats.decisions`` says why the decisions stay those of the full design).
    Every run where the grid has several learning rates: each order's rate is chosen on all
    its seeds, so an order left behind could choose another rate than the full design would."""
    if len(analysis.lrs) > 1:
        return None
    wanted = analysis.undecided_orders()
    return lambda spec: (analysis.condition_of(spec), spec.label) in wanted


def _round_note(analysis, seeds: int, last: bool) -> str:
    """What a look of ``--until-decided`` found: decided pairs, and whether another round comes."""
    open_ = [d for d in analysis.decisions if d.decision == "undecided"]
    total = len(analysis.decisions)
    head = f"look at {seeds} seeds: {total - len(open_)} of {total} pairs decided"
    if not open_:
        return head + "; stopping"
    if last:
        return head + "; --max-seeds reached, the rest stay undecided"
    orders = sorted({label for _, label in analysis.undecided_orders()})
    shown = ", ".join(orders[:4]) + (f" and {len(orders) - 4} more" if len(orders) > 4 else "")
    return head + f"; training another round for the orders of the undecided pairs ({shown})"
