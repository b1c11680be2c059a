"""From stored runs to the comparison that ``compare`` prints and the report draws.

With several learning rates, each order is compared at its own best learning rate (pairing by
seed still holds), and the LR-robustness table shows the rest of the sweep. With factors varied
(``--vary``), each condition is analysed on its own and the order x factor interaction is
tested across them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from layerorder.stats.decisions import PairDecision, decide_pairs, family_of
from layerorder.stats.interaction import Interaction, Observation, interaction_tests
from layerorder.stats.lr import LrRobustness, fair_best, lr_robustness
from layerorder.stats.paired import PairComparison, compare_pairs
from layerorder.stats.plan import AnalysisPlan
from layerorder.stats.reliability import Outcomes, SpreadComparison, at_chance, compare_spread
from layerorder.stats.sequential import Design
from layerorder.stats.speed import Speed, compare_speed
from layerorder.stats.summary import OrderSummary, summarize
from layerorder.stats.verdict import Verdict, conditional_verdict, make_verdict


@dataclass(frozen=True)
class OrderRow:
    """One line of the results table."""

    label: str
    lr: float
    summary: OrderSummary
    delta: float  # mean minus the best order's mean, in points
    p_holm: float | None  # Holm-adjusted paired t-test against the best order (None for best)
    condition: str = ""  # the factors' levels, 'batch_size=8'; '' when nothing is varied


@dataclass(frozen=True)
class Condition:
    """One level of every varied factor (the whole grid when nothing is varied), analysed on
    its own: the rows, every pair's comparison, the family's decisions and reliability, and the
    verdict. ``levels``: ((factor, level), ...); ``name``: 'batch_size=8, p_drop=0.5'."""

    levels: tuple[tuple[str, Any], ...]
    name: str
    labels: tuple[str, ...]
    rows: tuple[OrderRow, ...]
    pairs: tuple[PairComparison, ...]
    decisions: tuple[PairDecision, ...]
    reliability: tuple[SpreadComparison, ...]
    verdict: Verdict
    lr_table: tuple[LrRobustness, ...]
    n_seeds: int  # seeds with a finished run
    speed: Speed | None = None  # epochs to a target accuracy (None: no epochs given)

    @property
    def decided(self) -> bool:
        return all(d.decision != "undecided" for d in self.decisions)

    def at(self, wanted: Mapping[str, Any]) -> bool:
        """Whether this condition has every level ``wanted`` names (compared as text, as a
        study file writes them: ``depth = 110`` matches a stored 110)."""
        levels = dict(self.levels)
        return all(str(levels.get(k)) == str(v) for k, v in wanted.items())


@dataclass(frozen=True)
class Analysis:
    """The whole comparison. With one condition ``rows``, ``pairs``, ``decisions``,
    ``reliability`` and ``lr_table`` are that condition's and ``verdict`` is its verdict; with
    several (``--vary``) they hold every condition's records (each names its ``condition``,
    ``pairs`` excepted: see ``conditions``), ``interactions`` the order x factor tests, and
    ``verdict.text`` the conditional verdict."""

    labels: tuple[str, ...]
    lrs: tuple[float, ...]
    rows: tuple[OrderRow, ...]
    pairs: tuple[PairComparison, ...]
    verdict: Verdict
    lr_table: tuple[LrRobustness, ...]
    counts: dict  # status -> number of runs
    n_runs: int
    decisions: tuple[PairDecision, ...] = ()
    reliability: tuple[SpreadComparison, ...] = ()
    conditions: tuple[Condition, ...] = ()
    interactions: tuple[Interaction, ...] = ()
    plan: AnalysisPlan = AnalysisPlan()
    alpha: float = 0.05
    speed: tuple[Speed, ...] = ()  # each condition's epochs to a target (when epochs are given)

    @property
    def factors(self) -> tuple[str, ...]:
        return self.plan.factors

    @property
    def margin(self) -> float:
        return self.plan.margin

    @property
    def baseline(self) -> str | None:
        return self.plan.baseline

    @property
    def looks(self) -> tuple[int, ...]:
        """Seeds per order at each look of a sequential design (empty: a fixed design)."""
        return self.plan.looks

    @property
    def decided(self) -> bool:
        """Every pair of every condition is decided (different or equivalent)."""
        return all(c.decided for c in self.conditions)

    def undecided_orders(self) -> frozenset[tuple[str, str]]:
        """(condition, order) of both orders of every undecided pair: what another round of
        seeds must train (``stats.decisions`` says why the rest need none)."""
        return frozenset((d.condition, label) for d in self.decisions
                         if d.decision == "undecided" for label in (d.a, d.b))

    def condition_of(self, run: Any) -> str:
        """The condition a run (or a run spec) belongs to, named as its decisions name it."""
        return condition_name(tuple((f, self.plan.level_of(run, f)) for f in self.plan.factors))


def _grouped(runs) -> dict[str, dict[float, list]]:
    groups: dict[str, dict[float, list]] = defaultdict(lambda: defaultdict(list))
    for run in sorted(runs, key=lambda r: r.id):
        groups[run.label][run.lr].append(run)
    return groups


def _best_lrs(groups, labels, plan: AnalysisPlan) -> tuple[dict[str, float],
                                                          tuple[LrRobustness, ...]]:
    metric = plan.metric
    sweep = {
        label: {
            lr: [None if r.status == "diverged" else plan.value_of(r)
                 for r in rs if r.status in ("done", "diverged")]
            for lr, rs in groups[label].items()
        }
        for label in labels
    }
    # stable: within a point of the best accuracy; for another metric, within the margin
    tolerance = 1.0 if metric.is_accuracy else plan.margin
    table = tuple(lr_robustness(sweep, tolerance=tolerance,
                                higher_is_better=metric.higher_is_better))
    best = {}
    for item in table:
        lost = {p.lr: p.n_diverged > 0 or any(r.status == "failed"
                                              for r in groups[item.label][p.lr])
                for p in item.points}
        chosen = fair_best({p.lr: p.mean for p in item.points}, lost, metric.gain)
        best[item.label] = chosen if chosen is not None else min(sweep[item.label])
    return best, table


def condition_name(levels) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in levels)


def analyze(
    runs: Sequence,
    plan: AnalysisPlan | None = None,
    *,
    alpha: float = 0.05,
    epochs: Mapping[int, Sequence] | None = None,
    **plan_fields: Any,
) -> Analysis:
    """Summaries, paired comparisons, decisions, reliability, the verdict and the LR table for a
    set of ``RunRecord``, as ``plan`` says (an ``AnalysisPlan``; or its fields as keywords:
    ``analyze(runs, factors=["batch_size"], margin=0.3)``): per condition of its ``factors``
    (settings varied with ``--vary``), with the order x factor interaction tests across them,
    each order against ``baseline`` only when one is named, at the looks of its sequential
    design. ``epochs``: run id -> its ``EpochRecord``s, for the speed of each order
    (``stats.speed``: epochs to a target accuracy, never counted as reliability)."""
    if plan is not None and plan_fields:
        raise TypeError("give analyze() a plan or its fields as keywords, not both")
    plan = plan or AnalysisPlan.of(**plan_fields)
    factors, baseline = plan.factors, plan.baseline
    if baseline is not None and runs and baseline not in {r.label for r in runs}:
        labels = list(dict.fromkeys(r.label for r in runs))
        raise ValueError(
            f"baseline '{baseline}' is not among the orders {labels}; name one of them"
        )
    by_condition: dict[tuple, list] = defaultdict(list)
    for run in runs:
        by_condition[tuple((f, plan.level_of(run, f)) for f in factors)].append(run)
    keys = sorted(by_condition, key=lambda k: tuple(sort_key(v) for _, v in k))
    conditions = tuple(
        _condition(key, by_condition[key], alpha, plan, epochs) for key in keys
    ) or (_condition((), [], alpha, plan, None),)
    labels = tuple(dict.fromkeys(label for c in conditions for label in c.labels))
    lrs = tuple(sorted({r.lr for r in runs}))
    counts: dict[str, int] = defaultdict(int)
    for run in runs:
        counts[run.status] += 1
    one = len(conditions) == 1
    interactions = () if one else interaction_tests(
        _observations(conditions, runs, plan), factors)
    verdict = conditions[0].verdict if one else conditional_verdict(
        conditions, interactions, alpha=alpha, baseline=baseline, metric=plan.metric
    )
    design = Design(plan.looks)
    if design.sequential:
        verdict = replace(verdict, text=f"{verdict.text} {_design_sentence(design, conditions)}")
    return Analysis(
        labels=labels,
        lrs=lrs,
        rows=tuple(r for c in conditions for r in c.rows),
        pairs=conditions[0].pairs if one else (),
        verdict=verdict,
        lr_table=tuple(t for c in conditions for t in c.lr_table) if one else (),
        counts=dict(counts),
        n_runs=len(runs),
        decisions=tuple(d for c in conditions for d in c.decisions),
        reliability=tuple(r for c in conditions for r in c.reliability),
        conditions=conditions,
        interactions=interactions,
        plan=plan,
        alpha=alpha,
        speed=tuple(c.speed for c in conditions if c.speed is not None),
    )


def _design_sentence(design: Design, conditions) -> str:
    looks = ", ".join(map(str, design.looks))
    reached = max((c.n_seeds for c in conditions), default=0)  # the orders trained longest
    undecided = sum(d.decision == "undecided" for c in conditions for d in c.decisions)
    end = (
        "every pair was decided"
        if not undecided
        else f"{undecided} pair{'s' * (undecided != 1)} undecided"
    )
    return (
        f"Seeds were added in rounds (looks at {looks} seeds per order, O'Brien-Fleming alpha"
        f" spending over the looks; after the first, only for the orders of undecided pairs);"
        f" this analysis has up to {reached} seeds per order: {end}."
    )


def sort_key(value):
    """Levels in numeric order where they are numbers (data set options arrive as text)."""
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def _observations(conditions, runs, plan: AnalysisPlan) -> list[Observation]:
    """Finished runs at each order's chosen learning rate, for the interaction tests."""
    chosen = {(c.levels, row.label): row.lr for c in conditions for row in c.rows}
    out = []
    for c in conditions:
        factors = [f for f, _ in c.levels]
        for run in runs:
            levels = tuple((f, plan.level_of(run, f)) for f in factors)
            if levels != c.levels or chosen.get((c.levels, run.label)) != run.lr:
                continue
            value = plan.value_of(run)
            if run.status == "done" and value is not None:
                out.append(Observation(run.label, levels, run.seed, value))
    return out


def _condition(levels, runs, alpha, plan: AnalysisPlan, epochs) -> Condition:
    name = condition_name(levels)
    baseline, chance, design = plan.baseline, plan.chance, Design(plan.looks)
    groups = _grouped(runs)
    labels = tuple(groups)
    lrs = {r.lr for r in runs}
    best_lr, lr_table = _best_lrs(groups, labels, plan)
    metric = plan.metric
    value = plan.value_of
    summaries, by_seed, outcomes = [], {}, {}
    for label in labels:
        chosen = groups[label][best_lr[label]]
        done = [r for r in chosen if r.status == "done" and value(r) is not None]
        # a finished run that never reported the metric is counted as failed
        n_missing = sum(r.status == "done" and value(r) is None for r in chosen)
        n_diverged = sum(r.status == "diverged" for r in chosen)
        n_failed = sum(r.status == "failed" for r in chosen) + n_missing
        values = [value(r) for r in done]
        summaries.append(
            summarize(label, values, n_diverged=n_diverged, n_failed=n_failed,
                      bounds=metric.bounds or (-math.inf, math.inf))
        )
        by_seed[label] = {r.seed: value(r) for r in done}
        outcomes[label] = Outcomes(tuple(values), n_diverged + n_failed)
    pairs = tuple(compare_pairs(by_seed))
    # a condition whose baseline has no runs (yet) has nothing to compare against
    family = family_of(labels, baseline) if baseline is None or baseline in labels else ()
    trained = {r.seed for r in runs if r.status in ("done", "diverged", "failed")}
    decisions = tuple(
        replace(d, condition=name)
        for d in decide_pairs(by_seed, family, margin=plan.margin, alpha=alpha, design=design,
                              seed_order=_seeds(plan.seed_order, trained))
    )
    reliability = tuple(
        replace(r, condition=name)
        for r in compare_spread(outcomes, alpha=alpha, chance=chance, metric=metric)
    )
    verdict = make_verdict(
        summaries, pairs, alpha=alpha, decisions=decisions, reliability=reliability,
        baseline=baseline, sequential=design.sequential, metric=metric,
    )
    rows = tuple(
        replace(_row(s, best_lr[s.label], verdict.best, summaries, pairs), condition=name)
        for s in summaries
    )
    seeds = {seed for v in by_seed.values() for seed in v}
    speed = None
    if epochs is not None and family and metric.is_accuracy:  # epochs to a target accuracy
        curves = {label: {r.seed: _by_epoch(epochs.get(r.id, ()))
                          for r in groups[label][best_lr[label]]
                          if r.status == "done" and value(r) is not None
                          and not at_chance(value(r), _chance(chance))
                          and epochs.get(r.id)}
                  for label in labels}
        # an order most of whose runs failed has no speed worth reading (reliability's question)
        curves = {label: c for label, c in curves.items()
                  if 2 * len(c) >= len(groups[label][best_lr[label]])}
        speed = compare_speed(curves, family, alpha=alpha, condition=name)
    return Condition(
        levels, name, labels, rows, pairs, decisions, reliability, verdict,
        lr_table if len(lrs) > 1 else (), len(seeds), speed,
    )


def _by_epoch(records) -> list[float | None]:
    """Test accuracy per epoch, position e - 1 for epoch e (None where none is stored)."""
    out: list[float | None] = [None] * max((r.epoch for r in records), default=0)
    for r in records:
        if r.epoch >= 1:
            out[r.epoch - 1] = r.test_acc
    return out


def _chance(chance: float | None) -> float:
    return math.nan if chance is None else chance


def _seeds(seed_order, present: set[int]) -> list[int] | None:
    """The seeds trained, in the order they were added (``seed_order`` first, then the rest).
    A seed whose runs all diverged still counts: each look covers the seeds of its round."""
    if seed_order is None:
        return None
    first = [s for s in seed_order if s in present]
    return first + sorted(present - set(first))


def _row(summary, lr, best, summaries, pairs) -> OrderRow:
    best_mean = next((s.mean for s in summaries if s.label == best), math.nan)
    p = None
    if summary.label != best:
        p = next(
            (c.p_holm for c in pairs if {c.a, c.b} == {summary.label, best}),
            math.nan,
        )
    return OrderRow(summary.label, lr, summary, summary.mean - best_mean, p)
