"""Reliability as its own question: seed-to-seed spread and the rate of failed runs.

"Conv->ReLU->BN trains less reliably" is a claim about spread and failures, not about the mean.
For each order against the others: the Brown-Forsythe test of equal spread (absolute deviations
from the median, robust to the skewed accuracy distributions a collapsed seed gives) and
Fisher's exact test of the share of runs that failed, diverged or collapsed (finished more than
``COLLAPSE_POINTS`` below the median of all finished runs of the condition), each Holm-adjusted
over the orders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from layerorder.stats.holm import holm
from layerorder.stats.summary import NAN

COLLAPSE_POINTS = 10.0  # a run this far below the condition's median accuracy counts as collapsed
# runs an order needs for the spread test: with two, both deviations from their median are
# |a - b| / 2, so the group has no within-group variance and the F test degenerates
MIN_SPREAD_RUNS = 3
MIN_WIDER = 0.1  # points: a less reliable order's SD exceeds the others' by at least this


@dataclass(frozen=True)
class Outcomes:
    """One order's runs in one condition: final accuracies of the finished runs and how many
    runs did not finish (failed or diverged)."""

    values: tuple[float, ...]
    not_finished: int = 0
    reference: float = NAN  # the median a collapse is measured from (nan: this order's own)

    @property
    def collapsed(self) -> int:
        if not self.values:
            return 0
        median = self.reference if math.isfinite(self.reference) else np.median(self.values)
        return sum(v < median - COLLAPSE_POINTS for v in self.values)

    @property
    def bad(self) -> int:
        return self.not_finished + self.collapsed

    @property
    def total(self) -> int:
        return len(self.values) + self.not_finished

    @property
    def sd(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) >= 2 else NAN


@dataclass(frozen=True)
class SpreadComparison:
    """One order against all the others together: its SD of final accuracy (points) and the
    median SD of the others, the Brown-Forsythe p of its spread against theirs (raw and Holm over
    the orders), its runs failed/diverged/collapsed out of all and the others', Fisher's exact p
    (raw and Holm), and whether it is less reliable at level alpha (a larger spread or more
    failures, significant after Holm; a larger spread must also be at least 1.5 times and 0.1
    points wider than the others' median SD)."""

    label: str
    sd: float
    sd_others: float
    p_spread: float
    p_spread_holm: float
    bad: int
    total: int
    bad_others: int
    total_others: int
    p_failures: float
    p_failures_holm: float
    less_reliable: bool
    condition: str = ""  # the factors' levels, when some are varied


def _deviations(values: Sequence[float]) -> np.ndarray:
    return np.abs(np.asarray(values, dtype=float) - np.median(values))


def _brown_forsythe(mine: Sequence[float], others: Sequence[Sequence[float]]) -> float:
    """Brown-Forsythe of one group against the rest: the one-way ANOVA of absolute deviations,
    each from its own order's median (the others keep their own medians, so a difference in
    means between them does not pass for spread)."""
    rest = [v for v in others if len(v) >= MIN_SPREAD_RUNS]
    if len(mine) < MIN_SPREAD_RUNS or not rest:
        return NAN
    z_mine = _deviations(mine)
    z_rest = np.concatenate([_deviations(v) for v in rest])
    if np.ptp(np.concatenate([z_mine, z_rest])) == 0:
        return 1.0
    return float(stats.f_oneway(z_mine, z_rest).pvalue)


def _fisher(bad: int, total: int, bad_rest: int, total_rest: int) -> float:
    if total == 0 or total_rest == 0:
        return NAN
    return float(stats.fisher_exact([[bad, total - bad], [bad_rest, total_rest - bad_rest]]).pvalue)


def compare_spread(
    outcomes: Mapping[str, Outcomes], *, alpha: float = 0.05
) -> tuple[SpreadComparison, ...]:
    """Each order's spread and failures against the other orders'. Against the rest rather than
    pair by pair: five orders make ten pairs but five such tests, and a pooled rest gives a
    5-seed comparison the power to see a spread like 4.0 against 0.3 points (Holm over orders)."""
    labels = list(outcomes)
    if len(labels) < 2:
        return ()
    # collapse is measured from the median of every finished run of the condition: an order
    # that collapses on most seeds would drag its own median down with it
    pooled = [v for o in outcomes.values() for v in o.values]
    reference = float(np.median(pooled)) if pooled else NAN
    outcomes = {k: replace(o, reference=reference) for k, o in outcomes.items()}
    raw = []
    for label in labels:
        mine, rest = outcomes[label], [outcomes[k] for k in labels if k != label]
        bad_rest, total_rest = sum(o.bad for o in rest), sum(o.total for o in rest)
        raw.append(
            (
                _brown_forsythe(mine.values, [o.values for o in rest]),
                _fisher(mine.bad, mine.total, bad_rest, total_rest),
                bad_rest,
                total_rest,
                float(np.median([o.sd for o in rest if math.isfinite(o.sd)] or [NAN])),
            )
        )
    p_spread = holm([r[0] for r in raw])
    p_fail = holm([r[1] for r in raw])
    out = []
    for i, label in enumerate(labels):
        o = outcomes[label]
        p_b, p_f, bad_rest, total_rest, sd_rest = raw[i]
        # a spread that matters, not only a detectable one (constant accuracies make tiny
        # spreads "significant"): at least 1.5 times and 0.1 points wider than the others'
        wider = (
            math.isfinite(o.sd) and math.isfinite(sd_rest)
            and o.sd >= 1.5 * sd_rest and o.sd - sd_rest >= MIN_WIDER
        )
        worse_rate = o.total and total_rest and o.bad / o.total > bad_rest / total_rest
        less = bool((p_spread[i] < alpha and wider) or (p_fail[i] < alpha and worse_rate))
        out.append(
            SpreadComparison(
                label, o.sd, sd_rest, p_b, p_spread[i], o.bad, o.total, bad_rest, total_rest,
                p_f, p_fail[i], less,
            )
        )
    return tuple(out)
