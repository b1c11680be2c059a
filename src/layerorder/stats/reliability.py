"""Reliability as its own question: seed-to-seed spread and the rate of failed runs.

"Conv->ReLU->BN trains less reliably" is a claim about spread and failures, not about the mean.
A run has **failed** when it diverged, did not finish, or ended at chance (within
``CHANCE_POINTS`` of the data set's chance level, the share of its most frequent test class); it
has **collapsed** when it finished more than ``COLLAPSE_POINTS`` below the median of the same
order's other seeds (never the condition's median: a median at chance makes every run look
healthy, and an order that learns slowly is not unreliable). Being slower is a separate
statistic (``layerorder.stats.speed``), never counted here.

For each order against the others: the Brown-Forsythe test of equal spread over the runs that did
not fail (absolute deviations from each order's median) and Fisher's exact test of the share of
runs that failed or collapsed, each Holm-adjusted over the orders.

A metric other than accuracy (a user's ``val_loss``) has no chance level and no scale on which
"10 points below" means collapse: there only runs that did not finish (or never reported the
metric) count as failed, and a spread counts when it is 1.5 times the others'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from layerorder.stats.holm import holm
from layerorder.stats.metric import ACCURACY_METRIC, Metric
from layerorder.stats.summary import NAN

COLLAPSE_POINTS = 10.0  # this far below the median of the order's other seeds: collapsed
CHANCE_POINTS = 5.0  # a run ending within this of the chance level has failed
# runs an order needs for the spread test: with two, both deviations from their median are
# |a - b| / 2, so the group has no within-group variance and the F test degenerates
MIN_SPREAD_RUNS = 3
MIN_WIDER = 0.1  # points: a less reliable order's SD exceeds the others' by at least this


def min_wider(metric: Metric) -> float:
    """How much larger than the others' a wider spread must be, in the metric's units: 0.1
    points of accuracy; nothing for a metric with no known scale (the 1.5x ratio alone)."""
    return MIN_WIDER if metric.is_accuracy else 0.0


def at_chance(value: float, chance: float) -> bool:
    """Whether a final accuracy (points) ended at chance (nan chance: unknown, never)."""
    return math.isfinite(chance) and value <= chance + CHANCE_POINTS


def collapsed_mask(values: Sequence[float]) -> tuple[bool, ...]:
    """Which of one order's trained runs collapsed: more than ``COLLAPSE_POINTS`` below the
    median of the order's other runs (at least two others are needed to have a median)."""
    if len(values) < 3:
        return tuple(False for _ in values)
    return tuple(
        v < float(np.median([*values[:i], *values[i + 1:]])) - COLLAPSE_POINTS
        for i, v in enumerate(values)
    )


@dataclass(frozen=True)
class Outcomes:
    """One order's runs in one condition: final accuracies of the finished runs, how many runs
    did not finish (failed or diverged), and the data set's chance level in points (nan when
    unknown: then only runs that did not finish count as failed)."""

    values: tuple[float, ...]
    not_finished: int = 0
    chance: float = NAN
    collapse: bool = True  # whether runs far below the others count (accuracy only)

    @property
    def trained(self) -> tuple[float, ...]:
        """The finished runs that did not end at chance."""
        return tuple(v for v in self.values if not at_chance(v, self.chance))

    @property
    def failed(self) -> int:
        return self.not_finished + len(self.values) - len(self.trained)

    @property
    def collapsed(self) -> int:
        """Trained runs far below the median of this order's other trained seeds."""
        return sum(collapsed_mask(self.trained)) if self.collapse else 0

    @property
    def bad(self) -> int:
        return self.failed + self.collapsed

    @property
    def total(self) -> int:
        return len(self.values) + self.not_finished

    @property
    def sd(self) -> float:
        kept = self.trained
        return float(np.std(kept, ddof=1)) if len(kept) >= 2 else NAN


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
    failed: int = 0  # of ``bad``: diverged, not finished or at chance (the rest collapsed)
    chance: float = NAN  # the chance level the failures were counted against (points)


def _deviations(values: Sequence[float]) -> np.ndarray:
    return np.abs(np.asarray(values, dtype=float) - np.median(values))


def _brown_forsythe(mine: Sequence[float], others: Sequence[Sequence[float]]) -> float:
    """Brown-Forsythe of one group against the rest: the one-way ANOVA of absolute deviations,
    each from its own order's median (the others keep their own medians, so a difference in
    means between them does not pass for spread)."""
    from scipy import stats

    rest = [v for v in others if len(v) >= MIN_SPREAD_RUNS]
    if len(mine) < MIN_SPREAD_RUNS or not rest:
        return NAN
    z_mine = _deviations(mine)
    z_rest = np.concatenate([_deviations(v) for v in rest])
    if np.ptp(np.concatenate([z_mine, z_rest])) == 0:
        return 1.0
    return float(stats.f_oneway(z_mine, z_rest).pvalue)


def _fisher(bad: int, total: int, bad_rest: int, total_rest: int) -> float:
    from scipy import stats

    if total == 0 or total_rest == 0:
        return NAN
    return float(stats.fisher_exact([[bad, total - bad], [bad_rest, total_rest - bad_rest]]).pvalue)


def compare_spread(
    outcomes: Mapping[str, Outcomes], *, alpha: float = 0.05, chance: float | None = None,
    metric: Metric = ACCURACY_METRIC,
) -> tuple[SpreadComparison, ...]:
    """Each order's spread and failures against the other orders'. Against the rest rather than
    pair by pair: five orders make ten pairs but five such tests, and a pooled rest gives a
    5-seed comparison the power to see a spread like 4.0 against 0.3 points (Holm over orders).
    ``chance``: the data set's chance level in points, given to every order's ``Outcomes``."""
    labels = list(outcomes)
    if len(labels) < 2:
        return ()
    if chance is not None and metric.is_accuracy:
        outcomes = {k: replace(o, chance=chance) for k, o in outcomes.items()}
    if not metric.is_accuracy:
        outcomes = {k: replace(o, chance=NAN, collapse=False) for k, o in outcomes.items()}
    wider_by = min_wider(metric)
    raw = []
    for label in labels:
        mine, rest = outcomes[label], [outcomes[k] for k in labels if k != label]
        bad_rest, total_rest = sum(o.bad for o in rest), sum(o.total for o in rest)
        raw.append(
            (
                _brown_forsythe(mine.trained, [o.trained for o in rest]),
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
            and o.sd >= 1.5 * sd_rest and o.sd - sd_rest >= wider_by
        )
        worse_rate = o.total and total_rest and o.bad / o.total > bad_rest / total_rest
        less = bool((p_spread[i] < alpha and wider) or (p_fail[i] < alpha and worse_rate))
        out.append(
            SpreadComparison(
                label, o.sd, sd_rest, p_b, p_spread[i], o.bad, o.total, bad_rest, total_rest,
                p_f, p_fail[i], less, failed=o.failed, chance=o.chance,
            )
        )
    return tuple(out)
