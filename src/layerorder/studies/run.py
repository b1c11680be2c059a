"""Running a study (every experiment through ``run_comparison``: resumable, any executor) and
evaluating its claims from the store alone.

Each experiment is stored under its own name (``study:NAME/vVERSION/EXPERIMENT@SCALE``), so a
second run trains nothing, a killed run finishes only what is missing, and one store can hold
every study at every scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from layerorder.stats.metric import ACCURACY_METRIC, Metric
from layerorder.store.location import argument, shown
from layerorder.store.location import exists as store_exists
from layerorder.studies.claims import Verdict, not_run
from layerorder.studies.evidence import Evidence, load_evidence
from layerorder.studies.regime import (
    RegimeMatch,
    in_regime,
    own_regime,
    scale_regime,
    untrained_regime,
)
from layerorder.studies.spec import ClaimSpec, Study, measured_cells, references

ALPHA = 0.05


@dataclass(frozen=True)
class Cell:
    """One order at one condition of a varied experiment: the mean final metric and its 95 % t
    interval over the seeds that finished (``n``), and the order's difference from the
    experiment's reference order there with the decisions' simultaneous interval."""

    order: str
    condition: str
    mean: float
    low: float
    high: float
    n: int
    diff: float = math.nan
    diff_low: float = math.nan
    diff_high: float = math.nan
    epochs_to_target: float | None = None  # median epochs to the condition's speed target
    target: float = math.nan  # that target (``stats.speed``): the question is when, not whether


@dataclass(frozen=True)
class ExperimentRun:
    """What one experiment of a study holds in the store after a run. ``cells``: for an
    experiment with varied factors, every order at every condition (the cell means of each
    interaction, and the order's effect across the levels); ``reference`` is the order the
    effects are measured from."""

    experiment: str  # the stored name
    runs: int
    trained: int
    finished: int
    wall_seconds: float  # summed run wall time (the work, not the elapsed time)
    chains: tuple = ()  # probed experiments: each order's stage chain (``probe.chain``)
    cells: tuple[Cell, ...] = ()
    reference: str = ""
    factors: tuple[str, ...] = ()
    metric: Metric = ACCURACY_METRIC  # what the cells' means and differences are of


@dataclass(frozen=True)
class ClaimResult:
    """A claim's verdict at one scale. ``p_family``: for a primary claim, its p adjusted over
    every primary claim on the page (``studies.family``); None otherwise."""

    study: str
    claim: ClaimSpec
    experiment: str  # the stored experiment's name
    verdict: Verdict
    p_family: float | None = None


@dataclass(frozen=True)
class StudyResult:
    """A study's claims evaluated at one scale, with what the store held for it."""

    study: Study
    scale: str
    store: str
    claims: tuple[ClaimResult, ...]
    experiments: tuple[ExperimentRun, ...]
    machine: str  # the device and host its runs name (the first run's provenance)
    finished_at: str  # when the last of its runs finished ('' when none)

    @property
    def command(self) -> str:
        return study_command(self.study, self.scale, self.store)

    def to_pandas(self):
        """One row per claim: its id, kind, outcome, effect, p-values and evidence."""
        import pandas as pd

        return pd.DataFrame([claim_row(c) for c in self.claims])

    def to_dict(self) -> dict[str, Any]:
        """The study's verdicts, with where and when its runs ran."""
        return {"study": self.study.name, "scale": self.scale, "store": shown(self.store),
                "machine": self.machine, "finished_at": self.finished_at,
                "claims": [claim_row(c) for c in self.claims],
                "report": self.report_command("html")}

    def __str__(self) -> str:
        """What ``layerorder study run`` prints, without colour."""
        from layerorder.studies.text import verdict_table
        from layerorder.terminal import as_text

        return as_text([verdict_table(self)])

    def _repr_html_(self) -> str:
        import html

        head = f"<p><strong>{html.escape(self.study.name)}</strong> ({html.escape(self.scale)})"
        return (f"{head}: {html.escape(self.study.title)}</p>"
                + self.to_pandas().to_html(index=False, float_format="%.3g"))

    def report_command(self, fmt: str) -> str:
        return (f"layerorder study report {study_argument(self.study)} --scale {self.scale} "
                f"--store {argument(self.store)} --format {fmt}")


def claim_row(c: ClaimResult) -> dict[str, Any]:
    """A claim's verdict as one row: what the table, the JSON and a data frame hold."""
    from layerorder.studies.text import claim_kind

    return {"claim": c.claim.id, "kind": claim_kind(c), "statement": c.claim.statement,
            "outcome": c.verdict.outcome, "effect": c.verdict.effect, "p": c.verdict.p,
            "p_family": c.p_family, "evidence": c.verdict.evidence, "decide": c.verdict.decide}


def study_argument(study: Study) -> str:
    """How a command names the study: a built-in one by its name, a user's by its file."""
    return study.name if study.built_in else str(study.path)


def study_command(study: Study, scale: str, store: str) -> str:
    return (f"layerorder study run {study_argument(study)} --scale {scale}"
            f" --store {argument(store)}")


def _summary(name: str, results, trained: int, chains: tuple = ()) -> ExperimentRun:
    finished = [r for r in results.runs if r.status in ("done", "diverged", "failed")]
    wall = sum(r.wall_time or 0.0 for r in finished)
    analysis = results.analysis
    reference, cells = (analysis.labels[0] if analysis.labels else ""), []
    if len(analysis.conditions) > 1:
        for c in analysis.conditions:
            for row in c.rows:
                d = next((d for d in c.decisions if {d.a, d.b} == {row.label, reference}), None)
                sign = 1.0 if d is None or d.a == row.label else -1.0
                lo, hi = ((math.nan, math.nan) if d is None else
                          sorted((sign * d.sim_low, sign * d.sim_high)))
                s = row.summary
                speed = next((o for o in c.speed.orders if o.label == row.label),
                             None) if c.speed else None
                cells.append(Cell(row.label, c.name, s.mean, s.ci_low, s.ci_high, s.n,
                                  math.nan if d is None else sign * d.mean_diff, lo, hi,
                                  speed.median_epochs if speed else None,
                                  c.speed.target if speed else math.nan))
    return ExperimentRun(name, len(results.runs), trained, len(finished), wall, chains,
                         tuple(cells), reference, tuple(analysis.factors), analysis.plan.metric)


def run_study(
    study: Study,
    scale: str,
    store: str | Path,
    *,
    execution: dict[str, Any] | None = None,
    observer=None,
    on_experiment: Callable[[str, int, int], None] | None = None,
) -> tuple[ExperimentRun, ...]:
    """Train what the store lacks of every experiment of ``study`` at ``scale``.
    ``execution``: settings that do not change results (executor, workers, device, ...).
    ``on_experiment(name, i, n)`` is called before each experiment."""
    from layerorder.experiment.execution.comparison import run_comparison
    from layerorder.experiment.validate import validate

    out, experiments = [], study.experiments_at(scale)
    for i, spec in enumerate(experiments):
        config = study.config(spec.id, scale, **(execution or {}))
        notes = validate(config)  # the data set, device and executor, before anything trains
        if observer is not None:
            for line in notes:
                observer.note(line)
        if on_experiment is not None:
            on_experiment(config.name, i + 1, len(experiments))
        results = run_comparison(config, store, observer=observer)
        out.append(_summary(config.name, results, results.trained))
    return tuple(out)


def claim_regime(claim: ClaimSpec, ev: Evidence, config) -> RegimeMatch:
    """The scale's regime for one claim: the conditions it reads (all of them when it names
    none) and the best and the lowest mean final accuracy among its orders there (among the
    cells its measures read, for a test of measures alone)."""
    if hasattr(claim.test, "built_orders"):  # built from the settings, never trained
        depths = getattr(claim.test, "depths", ()) or [config.depth]
        deepest = max((d for d in depths if d is not None), default=None)
        return untrained_regime(claim.regime, config, None if deepest is None else float(deepest),
                                claim.test.built_orders)
    orders, conditions, _factors = references(claim.test)
    cells = measured_cells(claim.test)
    resolved = [(order, ev.resolve(cond, order)) for order, cond in cells or ()]
    wanted = [w for _, w in resolved if w] if cells else [ev.resolve(c) for c in conditions if c]
    conds = [c for c in ev.results.analysis.conditions
             if not wanted or any(c.at(w) for w in wanted)]
    levels = [dict(c.levels) for c in conds]
    names = set(orders) or set(ev.results.analysis.labels)

    def read(c, label: str) -> bool:
        if not cells:
            return label in names
        # only the cells the measures read, not every order at every condition they name
        return any(label == order and c.at(w) for order, w in resolved)
    means = {(c.name, row.label): row.summary.mean for c in conds for row in c.rows
             if read(c, row.label) and math.isfinite(row.summary.mean)}
    best = means.get(ev.metric.best(means)) if means else None
    if config.user_run:
        return own_regime(claim.regime, config, ev.metric.name, best)
    # the regime's ``accuracy`` is the best mean test accuracy, ``worst_accuracy`` the lowest:
    # not a loss's
    accuracy = ev.metric.is_accuracy and bool(means)
    return scale_regime(claim.regime, config, levels, best if accuracy else None, sorted(names),
                        worst=min(means.values()) if accuracy else None)


def evaluate_study(study: Study, scale: str, store: str | Path, *, alpha: float = ALPHA
                   ) -> StudyResult:
    """Every claim of ``study`` at ``scale`` from what ``store`` holds; claims whose experiment
    is not stored are undecided ('not run')."""
    from layerorder.experiment.execution.comparison import stored_comparison
    from layerorder.store import Store

    evidence: dict[str, Evidence | None] = {}
    summaries, machine, finished_at = [], "", ""
    exists = store_exists(store)
    opened = Store.open(store, create=False, read_only=True) if exists else nullcontext()
    with opened as db:  # no store yet: every claim is 'not run'
        for spec in study.experiments_at(scale):
            config = study.config(spec.id, scale)
            results = stored_comparison(config, db) if db is not None else None
            if results is None:
                evidence[spec.id] = None
                continue
            evidence[spec.id] = ev = load_evidence(config.name, results, db, config)
            summaries.append(_summary(config.name, results, 0, ev.chains()))
            done = [r for r in results.runs if r.finished_at]
            finished_at = max([finished_at, *(r.finished_at for r in done)])
            if not machine and done and done[0].provenance:
                p = done[0].provenance
                machine = f"{p.get('device_name') or p.get('device')} ({p.get('host', '?')})"
    claims = []
    for claim in study.claims_at(scale):
        ev = evidence[claim.experiment]
        name = study.experiment_name(claim.experiment, scale)
        if ev is None:
            verdict = not_run(f"experiment '{claim.experiment}' at scale '{scale}'")
        else:
            verdict = claim.test.evaluate(ev, alpha)
            match = claim_regime(claim, ev, study.config(claim.experiment, scale))
            verdict = in_regime(verdict, match)
        claims.append(ClaimResult(study.name, claim, name, verdict))
    return StudyResult(study, scale, shown(store), tuple(guarded(claims)), tuple(summaries),
                       machine, finished_at)


# a decisive verdict whose guard fails: undecided (outside the regime: not reproduced)
GUARDED = {"supported": "undecided", "contradicted": "undecided",
           "agrees outside regime": "not reproduced"}
GUARD_HOLDS = ("supported", "agrees outside regime")  # a check's outcomes where its guard holds


def guarded(claims: list[ClaimResult]) -> list[ClaimResult]:
    """Each claim whose guard (``ClaimSpec.guarded_by``) does not hold made undecided, or *not
    reproduced* outside its source's regime: its reading is in doubt, whichever way it went. A
    guard holds where its check is supported (or agrees outside its own regime); a guard that
    was not evaluated does not hold. Applying it twice changes nothing."""
    by_id = {c.claim.id: c.verdict for c in claims}
    out = []
    for c in claims:
        name = c.claim.guarded_by
        guard = by_id.get(name) if name else None
        held = guard is not None and guard.outcome in GUARD_HOLDS
        if name and not held and c.verdict.outcome in GUARDED:
            v = c.verdict
            state = guard.outcome if guard is not None else "not evaluated"
            c = replace(c, verdict=replace(
                v, outcome=GUARDED[v.outcome],
                evidence=f"{v.evidence}; its guard '{name}' is {state}, so this reading does"
                         " not stand",
                decide=f"the check '{name}' to hold" + (f"; {v.decide}" if v.decide else "")))
        out.append(c)
    return out
