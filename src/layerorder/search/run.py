"""``layerorder search``: successive halving over the order space, then a comparison of the
finalists on fresh seeds.

Why not Optuna's pruners: they prune one trial on its own intermediate values, sampled from a
distribution; here every candidate of a fixed, small set is trained on the same seeds, each round
is a stored, resumable comparison (``run_comparison``), and the final stage needs the comparison's
own statistics. Successive halving (Jamieson and Talwalkar 2016) over that set is a few lines on
top of it.

Budget unit: one full run (all ``epochs``). A round that trains n candidates for e epochs on s
seeds costs n*s*e/epochs. Rounds keep the best 1/eta of the candidates (by mean final test
accuracy over the selection seeds) until ``finalists`` are left; the first round is the
shortest, and each is longer than the one before (rounds that would be as short are one round
that keeps fewer). The finalists then go to ``compare --until-decided`` on seeds the selection
never used (selection seeds start at ``SELECTION_SEED``), with ``max_seeds`` capped so the whole
search stays within the budget; the verdict reads only those final runs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from layerorder.errors import ConfigError
from layerorder.experiment.execution.comparison import Comparison
from layerorder.search.budget import (
    FINAL_SEEDS,
    FULL_SEEDS,
    MAX_FINAL_SEEDS,
    OWN_SETTINGS,
    capped_for_time,
)
from layerorder.stats.metric import ACCURACY_METRIC, Metric

SELECTION_SEED = 10_000  # selection rounds use seeds from here; the final stage starts at 0


def epochs(n: int) -> str:
    return f"{n} epoch" + "s" * (n != 1)


@dataclass(frozen=True)
class RoundPlan:
    index: int
    candidates: int  # trained this round
    keep: int  # kept for the next round (the finalists after the last one)
    epochs: int
    seeds: tuple[int, ...]

    @property
    def cost(self) -> float:
        """In epochs trained (divide by a full run's epochs for full runs)."""
        return self.candidates * len(self.seeds) * self.epochs


@dataclass(frozen=True)
class SearchPlan:
    rounds: tuple[RoundPlan, ...]
    finalists: int
    epochs: int  # of a full run
    final_seeds: int  # at the first look
    max_seeds: int  # the final stage's cap, from what the budget leaves
    budget: float  # in full runs

    def round_cost(self) -> float:
        return sum(r.cost for r in self.rounds) / self.epochs

    def final_cost(self) -> float:
        """The final stage's worst case (every look), in full runs."""
        return float(self.finalists * self.max_seeds)

    def cost(self) -> float:
        return self.round_cost() + self.final_cost()


def plan_search(
    n_candidates: int,
    *,
    epochs: int,
    budget: float | None,
    eta: int = 3,
    finalists: int = 3,
    selection_seeds: int = 2,
) -> SearchPlan:
    """Rounds of successive halving for ``n_candidates`` within ``budget`` full runs (None: a
    third of training every candidate on ``FULL_SEEDS`` seeds, or the least the plan needs)."""
    if eta < 2:
        raise ConfigError(f"--eta must be at least 2, got {eta}")
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise ConfigError(f"--budget must be a positive number of full runs, got {budget}")
    finalists = max(1, min(finalists, n_candidates))
    n, sizes = n_candidates, []
    while n > finalists:
        keep = max(finalists, math.ceil(n / eta))
        sizes.append((n, keep))
        n = keep
    seeds = tuple(SELECTION_SEED + i for i in range(selection_seeds))
    steps = [(n, keep, max(1, round(epochs / eta ** (len(sizes) - i))))
             for i, (n, keep) in enumerate(sizes)]
    merged: list[tuple[int, int, int]] = []
    for n, keep, e in steps:  # a round no longer than the one before would rerun its runs
        if merged and e <= merged[-1][2]:
            merged[-1] = (merged[-1][0], keep, merged[-1][2])
        else:
            merged.append((n, keep, e))
    rounds = [RoundPlan(i, n, keep, e, seeds) for i, (n, keep, e) in enumerate(merged)]
    spent = sum(r.cost for r in rounds) / epochs
    need = spent + finalists * FINAL_SEEDS
    if budget is None:
        # whole runs, at most a third (unless the plan needs more)
        budget = float(max(n_candidates * FULL_SEEDS // 3, math.ceil(need)))
    left = budget - spent
    max_seeds = int(left // finalists) if finalists > 1 else FINAL_SEEDS
    max_seeds = min(max_seeds, MAX_FINAL_SEEDS)  # < SELECTION_SEED: never the selection's
    if budget < need or max_seeds < FINAL_SEEDS:
        raise ConfigError(
            f"a budget of {budget:g} runs is too small for {n_candidates} candidates: the"
            f" selection rounds take {spent:.1f} and the final comparison of {finalists}"
            f" finalists at least {finalists * FINAL_SEEDS}; give --budget {math.ceil(need)} or"
            " more, or fewer candidates (--weight-first, fewer --norms/--acts)"
        )
    return SearchPlan(tuple(rounds), finalists, epochs, FINAL_SEEDS, max(max_seeds, 2), budget)


@dataclass(frozen=True)
class Score:
    order: str
    # mean final value of the compared metric over the round's seeds; a diverged or failed run
    # counts as the worst value (0 % of accuracy; -inf or +inf for a metric of the user's own)
    mean: float
    runs: int


@dataclass(frozen=True)
class RoundResult:
    plan: RoundPlan
    experiment: str
    experiment_id: int
    scores: tuple[Score, ...]  # best first
    kept: tuple[str, ...]
    dropped: tuple[str, ...]
    metric: Metric = ACCURACY_METRIC

    def evidence(self, order: str) -> str:
        """Why ``order`` was dropped: its rank and its gap to the round's best."""
        rank = next(i for i, s in enumerate(self.scores) if s.order == order) + 1
        score = self.scores[rank - 1]
        best = self.scores[0]
        head = (f"round {self.plan.index + 1} ({epochs(self.plan.epochs)}, {score.runs} seeds):"
                f" rank {rank} of {len(self.scores)}")
        if self.metric.is_accuracy:
            return (f"{head}, {score.mean:.2f}%, {best.mean - score.mean:.2f} points below"
                    f" {best.order}")
        gap = abs(best.mean - score.mean)
        side = "below" if self.metric.higher_is_better else "above"
        return (f"{head}, {self.metric.name} {score.mean:.4g}, {gap:.4g} {side}"
                f" {best.order}")


@dataclass(frozen=True)
class SearchResult:
    space: Any  # OrderSpace
    plan: SearchPlan
    rounds: tuple[RoundResult, ...]
    final: Comparison  # the finalists on fresh seeds: the only runs the verdict reads
    best: str
    equivalent: tuple[str, ...]  # finalists equivalent to the best within the margin
    worse: tuple[str, ...]  # finalists significantly worse than the best
    undecided: tuple[str, ...]
    history: tuple = ()  # SearchStep records, as stored: the space, each round, the final stage
    name: str = "search"  # as the store names it: experiments NAME-round1.., NAME-final

    @property
    def spent(self) -> float:
        """Full runs actually trained or found stored, at their length."""
        rounds = sum(r.plan.cost for r in self.rounds) / self.plan.epochs
        return rounds + len(self.final.runs)

    def summary(self) -> str:
        """The search's answer in one paragraph, as ``layerorder search`` ends with it."""
        parts = [f"search picks {self.best}"]
        margin = self.final.analysis.margin
        if self.equivalent:
            metric = self.final.analysis.plan.metric
            parts.append(f"equivalent to it within ±{metric.margin_text(margin)}:"
                         f" {', '.join(self.equivalent)}")
        if self.worse:
            parts.append(f"significantly worse: {', '.join(self.worse)}")
        if self.undecided:
            parts.append(f"undecided at {self.plan.max_seeds} seeds: {', '.join(self.undecided)}")
        parts.append(f"final verdict on {len({r.seed for r in self.final.runs})} fresh seeds"
                     f" only; {self.spent:.1f} full runs spent of a {self.plan.budget:g}-run"
                     f" budget")
        return "; ".join(parts)

    def to_pandas(self):
        """One row per round and order: its rank, mean over the round's seeds, and whether it
        was kept (the final stage's runs are ``final.to_pandas()``)."""
        import pandas as pd

        return pd.DataFrame(
            [(r.plan.index + 1, r.plan.epochs, i, s.order, s.mean, s.runs, s.order in r.kept)
             for r in self.rounds for i, s in enumerate(r.scores, 1)],
            columns=["round", "epochs", "rank", "order", "mean", "runs", "kept"])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        final = getattr(self.final, "_repr_html_", None)  # the API's Results draw themselves
        rounds = self.to_pandas().to_html(index=False, float_format="%.2f")
        return (f"<p><strong>{html.escape(self.summary())}</strong></p>"
                f"<details><summary>rounds</summary>{rounds}</details>"
                + (final() if final is not None else ""))

    def to_dict(self) -> dict[str, Any]:
        """The search as ``layerorder search --json`` prints it."""
        return {
            "space": asdict(self.space),
            "plan": asdict(self.plan),
            "rounds": [asdict(r) for r in self.rounds],
            "final": self.final.to_dict(),
            "best": self.best,
            "equivalent": list(self.equivalent),
            "worse": list(self.worse),
            "undecided": list(self.undecided),
            "spent": self.spent,
            "history": [asdict(step) for step in self.history],
            "name": self.name,
        }


def _score(results: Comparison) -> tuple[Score, ...]:
    """Each order's mean over the round's runs, best first by the compared metric."""
    plan = results.analysis.plan
    metric = plan.metric
    worst = 0.0 if metric.is_accuracy else (-math.inf if metric.higher_is_better else math.inf)
    by_order: dict[str, list[float]] = {}
    for run in results.runs:
        value = plan.value_of(run) if run.status == "done" else None
        by_order.setdefault(run.label, []).append(worst if value is None else value)
    scores = [Score(o, sum(v) / len(v), len(v)) for o, v in by_order.items()]
    return tuple(sorted(scores, key=lambda s: (-metric.gain(s.mean), s.order)))


def _cap_for_time(plan: SearchPlan, seconds: float, runs, final_config) -> SearchPlan:
    """The plan with the final stage's seeds set by the time the rounds left: each run's own
    wall time per epoch, divided by the parallel workers the executor uses."""
    from layerorder.experiment.execution.executors import plan as execution_plan
    from layerorder.experiment.training.run_data import resolve_device

    epochs = sum(rp.cost for rp in plan.rounds)  # epochs the rounds trained, in total
    run_seconds = sum(r.wall_time or 0.0 for r in runs)
    workers = execution_plan(final_config.executor, final_config.workers,
                             len(final_config.orders) * plan.max_seeds,
                             resolve_device(final_config.device)).workers
    per_epoch = run_seconds / epochs / max(workers, 1) if epochs else 0.0
    most = final_config.max_runs // max(len(final_config.orders), 1)  # the grid's own limit
    return capped_for_time(plan, seconds, run_seconds / max(workers, 1), per_epoch, most)


def run_search(
    settings: dict[str, Any],
    space,
    plan: SearchPlan,
    store: str | Path,
    *,
    name: str = "search",
    data: Any = None,
    data_name: str | None = None,
    model: Any = None,
    seconds: float | None = None,
    observer=None,
) -> SearchResult:
    """Train the plan's rounds and its final stage (each a stored, resumable comparison).
    ``settings`` are any of ``compare``'s (not orders, seeds or until_decided); ``data`` and
    ``model`` as ``layerorder.compare`` takes them. ``seconds``: a wall-clock budget; the final
    stage's seed cap is then set from the rounds' measured time (``search.budget``)."""
    from layerorder.experiment.execution.comparison import run_comparison
    from layerorder.experiment.setup import make_experiment
    from layerorder.search.history import final_steps, round_steps, space_steps
    from layerorder.store import Store

    def record(steps, start: bool = False) -> None:  # the history, stage by stage
        with Store.open(store) as db:
            db.record_search(steps, start=start)

    common = {k: v for k, v in settings.items() if k not in OWN_SETTINGS}

    def config(values: dict[str, Any]):
        cfg = make_experiment({**common, "until_decided": False, **values}, data=data,
                              data_name=data_name, model=model, notes=lambda line: None)
        if len(cfg.lr) > 1:
            raise ConfigError("search trains one learning rate; give --lr a single value (sweep"
                              " it with compare --lr once the order is chosen)")
        return cfg

    final_settings = {"name": f"{name}-final", "seeds": tuple(range(plan.final_seeds)),
                      "epochs": plan.epochs, "max_seeds": plan.max_seeds}
    # checked before any training (a too-large grid fails now, not after the rounds)
    config({**final_settings, "orders": tuple(space.specs[:max(plan.finalists, 1)]),
            "until_decided": plan.finalists > 1})

    record(space_steps(name, space), start=True)
    alive = list(space.specs)
    done: list[RoundResult] = []
    round_runs: list = []
    for round_plan in plan.rounds:
        experiment = f"{name}-round{round_plan.index + 1}"
        results = run_comparison(
            config({"name": experiment, "orders": tuple(alive), "seeds": round_plan.seeds,
                    "epochs": round_plan.epochs}),
            store, observer=observer)
        scores = _score(results)
        kept = tuple(s.order for s in scores[: round_plan.keep])
        dropped = tuple(s.order for s in scores[round_plan.keep:])
        done.append(RoundResult(round_plan, experiment, results.experiment.id, scores, kept,
                                dropped, results.analysis.plan.metric))
        record(round_steps(name, done[-1]))
        alive = list(kept)
        round_runs.extend(results.runs)
    if seconds is not None:
        plan = _cap_for_time(plan, seconds, round_runs, config(final_settings | {
            "orders": tuple(alive), "until_decided": len(alive) > 1}))
        final_settings["max_seeds"] = plan.max_seeds
    final_config = config({**final_settings, "orders": tuple(alive),
                           "until_decided": len(alive) > 1})
    final = run_comparison(final_config, store, observer=observer)
    rows = final.analysis.rows
    best = (final.analysis.plan.metric.best({r.label: r.summary.mean for r in rows})
            if rows else None) or alive[0]
    equivalent, worse, undecided = [], [], []
    for d in final.analysis.decisions:
        if best not in (d.a, d.b):
            continue
        other = d.b if d.a == best else d.a
        {"equivalent": equivalent, "different": worse}.get(d.decision, undecided).append(other)
    record(final_steps(name, len(done) + 1, final, best))
    with Store.open(store) as db:  # as stored (NaN means read back as None)
        history = db.search_steps(name)
    return SearchResult(space, plan, tuple(done), final, best, tuple(equivalent), tuple(worse),
                        tuple(undecided), tuple(history), name)
