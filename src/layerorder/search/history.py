"""A search's history as store records (``SearchStep``, table ``search_steps``): the space, each
selection round, and the final comparison, each order with its outcome and the evidence for it.
``run_search`` stores each stage as it finishes (a search's earlier history is replaced when it
starts again), so a search without final-stage rows was interrupted or is still running;
``layerorder export --what search`` reads them back."""

from __future__ import annotations

import math

from layerorder.store.records import SearchStep


def space_steps(search: str, space) -> list[SearchStep]:
    """Stage 0: every candidate (rank: its place in the space), every spelling merged into one,
    and every arrangement the model refused."""
    steps = []
    for i, c in enumerate(space.candidates, 1):
        same = f"also stands for {', '.join(c.same_as)}" if c.same_as else ""
        steps.append(SearchStep(search, 0, "space", c.spec, "candidate", same, rank=i))
        steps.extend(SearchStep(search, 0, "space", other, "merged",
                                f"computes the same function as {c.spec}")
                     for other in c.same_as)
    steps.extend(SearchStep(search, 0, "space", spec, "refused", why)
                 for spec, why in space.rejected)
    return steps


def round_steps(search: str, result) -> list[SearchStep]:
    """A selection round (``RoundResult``): each order's rank and mean, kept or dropped."""
    stage = result.plan.index + 1
    return [
        SearchStep(search, stage, "round", s.order,
                   "kept" if s.order in result.kept else "dropped",
                   "" if s.order in result.kept else result.evidence(s.order),
                   result.experiment_id, rank, s.mean, s.runs)
        for rank, s in enumerate(result.scores, 1)
    ]


def final_steps(search: str, stage: int, final, best: str) -> list[SearchStep]:
    """The final comparison (``Results`` on fresh seeds): the best order, and every other
    finalist's decision against it with the numbers behind it."""
    analysis = final.analysis
    seeds = ", ".join(str(s) for s in sorted({r.seed for r in final.runs}))
    against = {}
    for d in analysis.decisions:
        if best in (d.a, d.b) and d.a != d.b:
            against[d.b if d.a == best else d.a] = d
    metric = analysis.plan.metric
    rows = sorted(analysis.rows, key=lambda r: -metric.gain(r.summary.mean))
    steps = []
    for rank, row in enumerate(rows, 1):
        mean, n = row.summary.mean, row.summary.n
        if row.label == best:
            outcome, evidence = "best", f"best mean on fresh seeds {seeds}"
        elif row.label in against:
            d = against[row.label]
            outcome = {"equivalent": "equivalent", "different": "worse"}.get(d.decision,
                                                                           "undecided")
            evidence = _evidence(d, row.label, best, analysis.margin, metric)
        else:
            outcome, evidence = "undecided", f"not compared with {best}"
        steps.append(SearchStep(search, stage, "final", row.label, outcome, evidence,
                                final.experiment.id, rank, mean, n))
    return steps


def _evidence(d, other: str, best: str, margin: float, metric=None) -> str:
    """``other`` minus ``best``, its 95% CI and the tests behind the decision."""
    flip = -1.0 if d.a == best else 1.0  # mean_diff is a - b
    diff = flip * d.mean_diff
    low, high = sorted((flip * d.ci_low, flip * d.ci_high))
    if metric is None or metric.is_accuracy:
        size = f"{diff:+.2f} points vs {best} (95% CI {low:+.2f} to {high:+.2f}"
    else:
        size = f"{metric.name} {diff:+.4g} vs {best} (95% CI {low:+.4g} to {high:+.4g}"
    equivalence = (f"equivalence (±{margin:g}) p = {_p(d.p_tost_holm)}" if margin > 0
                   else "no equivalence margin")
    text = (f"{size}, {d.n_pairs} seeds), Holm p = {_p(d.p_holm)}, {equivalence}")
    if d.decision == "undecided" and d.seeds_to_decide:
        text += f"; about {d.seeds_to_decide} seeds per order would decide it"
    return text


def _p(value: float | None) -> str:
    return f"{value:.3g}" if value is not None and math.isfinite(value) else "n/a"
