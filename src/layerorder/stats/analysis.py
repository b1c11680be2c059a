"""From stored runs to the comparison that ``compare`` prints and the report draws.

With several learning rates, each order is compared at its own best learning rate (pairing by
seed still holds), and the LR-robustness table shows the rest of the sweep.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from layerorder.stats.lr import LrRobustness, lr_robustness
from layerorder.stats.paired import PairComparison, compare_pairs
from layerorder.stats.summary import OrderSummary, summarize
from layerorder.stats.verdict import Verdict, make_verdict


@dataclass(frozen=True)
class OrderRow:
    """One line of the results table."""

    label: str
    lr: float
    summary: OrderSummary
    delta: float  # mean minus the best order's mean, in points
    p_holm: float | None  # Holm-adjusted paired t-test against the best order (None for best)


@dataclass(frozen=True)
class Analysis:
    labels: tuple[str, ...]
    lrs: tuple[float, ...]
    rows: tuple[OrderRow, ...]
    pairs: tuple[PairComparison, ...]
    verdict: Verdict
    lr_table: tuple[LrRobustness, ...]
    counts: dict  # status -> number of runs
    n_runs: int


def _acc(run) -> float | None:
    """Final test accuracy of a finished run; None for a diverged one."""
    if run.status == "diverged":
        return None
    return run.final_test_acc


def _grouped(runs) -> dict[str, dict[float, list]]:
    groups: dict[str, dict[float, list]] = defaultdict(lambda: defaultdict(list))
    for run in sorted(runs, key=lambda r: r.id):
        groups[run.label][run.lr].append(run)
    return groups


def _best_lrs(groups, labels) -> tuple[dict[str, float], tuple[LrRobustness, ...]]:
    sweep = {
        label: {
            lr: [_acc(r) for r in rs if r.status in ("done", "diverged")]
            for lr, rs in groups[label].items()
        }
        for label in labels
    }
    table = tuple(lr_robustness(sweep))
    best = {}
    for item in table:
        # a learning rate where some runs diverged or failed is not a fair "best": its mean
        # covers the survivors only; such rates count only when every rate lost runs
        clean = [
            p
            for p in item.points
            if p.n_diverged == 0
            and math.isfinite(p.mean)
            and not any(r.status == "failed" for r in groups[item.label][p.lr])
        ]
        if clean:
            best[item.label] = max(clean, key=lambda p: (p.mean, -p.lr)).lr
        else:
            best[item.label] = (
                item.best_lr if math.isfinite(item.best_lr) else min(sweep[item.label])
            )
    return best, table


def analyze(runs: Sequence, *, alpha: float = 0.05) -> Analysis:
    """Summaries, paired comparisons, the verdict and the LR table for a set of ``RunRecord``."""
    groups = _grouped(runs)
    labels = tuple(groups)
    lrs = tuple(sorted({r.lr for r in runs}))
    best_lr, lr_table = _best_lrs(groups, labels)
    summaries, by_seed = [], {}
    for label in labels:
        chosen = groups[label][best_lr[label]]
        done = [r for r in chosen if r.status == "done" and r.final_test_acc is not None]
        summaries.append(
            summarize(
                label,
                [r.final_test_acc for r in done],
                n_diverged=sum(r.status == "diverged" for r in chosen),
                n_failed=sum(r.status == "failed" for r in chosen),
            )
        )
        by_seed[label] = {r.seed: r.final_test_acc for r in done}
    pairs = tuple(compare_pairs(by_seed))
    verdict = make_verdict(summaries, pairs, alpha=alpha)
    rows = tuple(_row(s, best_lr[s.label], verdict.best, summaries, pairs) for s in summaries)
    counts: dict[str, int] = defaultdict(int)
    for run in runs:
        counts[run.status] += 1
    return Analysis(
        labels, lrs, rows, pairs, verdict, lr_table if len(lrs) > 1 else (), dict(counts), len(runs)
    )


def _row(summary, lr, best, summaries, pairs) -> OrderRow:
    best_mean = next((s.mean for s in summaries if s.label == best), math.nan)
    p = None
    if summary.label != best:
        p = next(
            (c.p_holm for c in pairs if {c.a, c.b} == {summary.label, best}),
            math.nan,
        )
    return OrderRow(summary.label, lr, summary, summary.mean - best_mean, p)
