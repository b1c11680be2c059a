"""Each pair of orders decided: different, equivalent within a margin, or undecided.

"No significant difference" is not "the same": equivalence needs its own test. For each pair of
the family this runs the paired t-test (is there a difference?) and the paired TOST, two
one-sided tests of ``H0: |difference| >= margin`` (statsmodels ``ttost_paired``), and Holm's
step-down over the family for each. With a sequential ``Design`` the decisions are replayed look
by look on the first seeds of each look, each look at its nominal level (alpha spent so far,
``layerorder.stats.sequential``); a pair decided at one look stays decided, and the Holm step-down
recycles the alpha of the hypotheses already rejected (Maurer and Bretz 2013).

A decided pair is not tested again at later looks: its p-values count as 1 there, so it keeps its
place in the step-down's count (its share of alpha is not handed to the others) and nothing its
orders' later seeds show can move it. This is what lets ``--until-decided`` train later rounds
only for the orders of undecided pairs (with one learning rate per order: a rate chosen on all
of an order's seeds would read the seeds left out, so a learning-rate grid trains every order).
The decisions read only each undecided pair's first seeds at each look, which such a round
trains, and never a decided pair's later ones, so they are the decisions the full design would
reach on the same seeds (``tests/stats`` replays both and finds them equal), and the error rates
the alpha spending and Holm's step-down hold are those of the full design. (Recycling a decided
pair's later rejection in the other family would be valid too, but it would read seeds such a
round does not train.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from layerorder.stats.holm import holm
from layerorder.stats.paired import (
    compare_pair,
    difference_moments,
    paired_values,
    subtraction_rounding,
)
from layerorder.stats.plan import DEFAULT_MARGIN
from layerorder.stats.power import seeds_needed, smallest_n, tost_power
from layerorder.stats.sequential import Design
from layerorder.stats.summary import NAN

DECISIONS = ("different", "equivalent", "undecided")
MAX_SEEDS = 10_000


@dataclass(frozen=True)
class PairDecision:
    """Order ``a`` against order ``b`` (differences a - b, in points) on their common seeds.

    ``p_t``/``p_holm``: paired t-test, raw and Holm-adjusted over the family. ``p_tost`` /
    ``p_tost_holm``: the TOST's p (the larger one-sided p), raw and Holm-adjusted. ``decision``:
    'different', 'equivalent' (within +-``margin``; a difference that is both significant and
    inside the margin is 'equivalent', with ``p_holm`` telling the rest) or 'undecided'.
    ``decided_at``: seeds per order at the look that decided it (None: undecided).
    ``sim_low``/``sim_high``: the interval of the difference at confidence ``sim_level``, the
    level each pair's difference test gets when alpha is split over the family (Bonferroni:
    1 - alpha/m; a sequential design's last look is smaller still), so simultaneous over the
    family: an interval that excludes zero is a pair Holm calls different, and an undecided
    pair's interval never excludes zero (``ci_low``/``ci_high`` are the unadjusted 95 %).
    ``seeds_to_decide``: for an undecided pair, about how many seeds per order would decide it
    at 80 % power if the difference and its SD stay as measured, at the level its family leaves
    it (alpha over the family's open pairs; a sequential design's last look) (None: more than
    10,000).
    """

    a: str
    b: str
    n_pairs: int
    mean_diff: float
    ci_low: float
    ci_high: float
    sd_diff: float
    p_t: float
    p_holm: float
    p_tost: float
    p_tost_holm: float
    margin: float
    decision: str
    decided_at: int | None
    seeds_to_decide: int | None
    condition: str = ""  # the factors' levels, when some are varied
    sim_low: float = NAN
    sim_high: float = NAN
    sim_level: float = NAN


def simultaneous_interval(mean: float, sd: float, n: int, level: float) -> tuple[float, float]:
    """The paired t interval of a mean difference at confidence ``level``."""
    if n < 2 or not (math.isfinite(mean) and math.isfinite(sd)):
        return NAN, NAN
    half = float(special.stdtrit(n - 1, 0.5 + level / 2)) * sd / math.sqrt(n)
    return mean - half, mean + half


def tost_p(x: np.ndarray, y: np.ndarray, margin: float) -> float:
    """p-value of the paired TOST of ``|mean(x - y)| < margin``; nan with fewer than 2 pairs or
    no margin (0). A constant difference (SD 0) is certain: 0 inside the margin, 1 outside it."""
    from statsmodels.stats.weightstats import ttost_paired

    diff = x - y
    if diff.size < 2 or margin <= 0:
        return NAN
    mean, sd = difference_moments(diff, subtraction_rounding(x, y))
    if sd == 0.0:
        return 0.0 if abs(mean) < margin else 1.0
    return float(ttost_paired(x, y, -margin, margin)[0])


def seeds_to_decide(
    mean_diff: float, sd_diff: float, margin: float, alpha: float, alpha_tost: float | None = None
) -> int | None:
    """Seeds per order at which either test would most likely decide (80 % power), taking the
    measured difference and SD as true: the difference test (two-sided, level ``alpha``) for a
    nonzero difference, the TOST (level ``alpha_tost``, default ``alpha``) for one inside the
    margin, whichever needs fewer."""
    alpha_tost = alpha if alpha_tost is None else alpha_tost
    if not (math.isfinite(mean_diff) and math.isfinite(sd_diff)):
        return None
    options = []
    if mean_diff != 0.0:
        options.append(seeds_needed(sd_diff, abs(mean_diff), alpha=alpha, max_n=MAX_SEEDS))
    if abs(mean_diff) < margin:
        options.append(
            smallest_n(lambda n: tost_power(mean_diff, sd_diff, n, margin, alpha_tost) >= 0.8,
                       MAX_SEEDS)
        )
    found = [n for n in options if n is not None]
    return min(found) if found else None


def _step_down(pvalues: dict[int, float], design: Design, alpha: float, look: int,
               sides: int) -> set[int]:
    """Holm's step-down at one look among the hypotheses still open (``pvalues`` by index)."""
    ranked = sorted((p, i) for i, p in pvalues.items() if math.isfinite(p))
    m = len(ranked)  # as ``holm``: an untestable pair (fewer than 2 seeds) does not count
    rejected = set()
    for r, (p, i) in enumerate(ranked):
        if p > design.level(alpha / (m - r), look, sides):
            break
        rejected.add(i)
    return rejected


def look_pvalues(diff: np.ndarray, margin: float,
                 rounding: float = 0.0) -> tuple[float, float]:
    """(paired t-test p, TOST p) of the differences ``diff`` at one look. The same values as
    ``scipy.stats.ttest_rel`` and statsmodels' ``ttost_paired`` (the tests check it), computed
    from ``scipy.special.stdtr`` directly: a look runs once per pair and round, and thousands of
    times in the simulations that check the sequential procedure, where the general functions'
    overhead dominates. Differences within ``rounding`` of each other are constant, as in
    ``paired.compare_pair`` (``paired.subtraction_rounding``)."""
    n = diff.size
    if n < 2:
        return NAN, NAN
    mean, sd = difference_moments(diff, rounding)
    if sd == 0.0:
        return (1.0 if mean == 0.0 else 0.0), (0.0 if abs(mean) < margin else 1.0)
    se = sd / math.sqrt(n)
    p_t = 2.0 * float(special.stdtr(n - 1, -abs(mean) / se))
    p_tost = float(max(special.stdtr(n - 1, -(mean + margin) / se),
                       special.stdtr(n - 1, -(margin - mean) / se)))
    return min(p_t, 1.0), p_tost


def _looked(values, family, seeds: Sequence[int], margin: float):
    """(t-test p, TOST p) of each pair on ``seeds``."""
    out = []
    for a, b in family:
        x, y = paired_values(
            {s: values[a].get(s) for s in seeds}, {s: values[b].get(s) for s in seeds}
        )
        out.append(look_pvalues(x - y, margin, subtraction_rounding(x, y)))
    return out


def decide_pairs(
    values: Mapping[str, Mapping[int, float | None]],
    family: Sequence[tuple[str, str]],
    *,
    margin: float = DEFAULT_MARGIN,
    alpha: float = 0.05,
    design: Design = Design(),
    seed_order: Sequence[int] | None = None,
    estimate_seeds: bool = True,
) -> tuple[PairDecision, ...]:
    """Decide every pair of ``family`` from ``values[label][seed] = accuracy`` (None or nan: a
    diverged or missing run). ``seed_order``: the order the seeds were added in (default:
    ascending), so that each look of a sequential ``design`` sees the seeds it saw then.
    ``estimate_seeds=False`` skips ``seeds_to_decide`` (simulations that need only the
    decisions). A ``margin`` of 0 tests no equivalence (a metric whose scale has no margin
    given): pairs are then different or undecided, and ``p_tost`` is nan."""
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    seeds = list(seed_order) if seed_order is not None else sorted(
        {s for v in values.values() for s in v}
    )
    decided: dict[int, tuple[str, int]] = {}
    # each family (difference nulls, equivalence nulls) keeps its own rejections: a pair found
    # different has not had its equivalence null rejected, so it still counts in that family
    rejected: dict[str, set[int]] = {"different": set(), "equivalent": set()}
    for look, n in enumerate(design.looks_within(len(seeds))):
        tested = _looked(values, family, seeds[:n], margin)
        found: dict[int, set[str]] = {}
        kinds_tested = (("different", 0, 2), ("equivalent", 1, 1)) if margin > 0 else (
            ("different", 0, 2),)
        for kind, column, sides in kinds_tested:
            open_ = {i: 1.0 if i in decided else tested[i][column]
                     for i in range(len(family)) if i not in rejected[kind]}
            for i in _step_down(open_, design, alpha, look, sides):
                rejected[kind].add(i)
                found.setdefault(i, set()).add(kind)
        for i, kinds in found.items():
            if i not in decided:  # a decision stands from the look that made it
                # inside the margin wins over a tiny real difference
                decided[i] = ("equivalent" if "equivalent" in kinds else "different", n)
        if len(decided) == len(family):
            break
    final = [_final(values, a, b, seeds, margin) for a, b in family]
    # what an undecided pair would be tested at: its family's open hypotheses share alpha
    # (Bonferroni, which Holm never needs more than), at a sequential design's last look
    last = len(design.looks) - 1 if design.sequential else 0
    open_diff = max(1, len(family) - len(rejected["different"]))
    open_eq = max(1, len(family) - len(rejected["equivalent"]))
    level_diff = design.level(alpha / open_diff, last, 2)
    level_eq = design.level(alpha / open_eq, last, 1)
    p_holm = holm([c.p_t for c, _ in final])
    p_tost_holm = holm([p for _, p in final])
    testable = max(1, sum(math.isfinite(c.p_t) for c, _ in final))
    diff_level = 1.0 - design.level(alpha / testable, last, 2)
    # an equivalent pair shows the interval TOST reads (each side at alpha/m: 1 - 2 alpha/m),
    # which lies inside the margin exactly when Bonferroni TOST would call it equivalent
    eq_level = 1.0 - 2 * design.level(alpha / testable, last, 1)
    out = []
    for i, (c, p_tost) in enumerate(final):
        decision, at = decided.get(i, ("undecided", None))
        sim_level = eq_level if decision == "equivalent" else diff_level
        sim = simultaneous_interval(c.mean_diff, c.sd_diff, c.n_pairs, sim_level)
        out.append(
            PairDecision(
                c.a, c.b, c.n_pairs, c.mean_diff, c.ci_low, c.ci_high, c.sd_diff, c.p_t,
                p_holm[i], p_tost, p_tost_holm[i], margin, decision, at,
                None if at is not None or not estimate_seeds
                else _more_than(
                    seeds_to_decide(c.mean_diff, c.sd_diff, margin, level_diff, level_eq),
                    c.n_pairs,
                ),
                sim_low=sim[0], sim_high=sim[1], sim_level=sim_level,
            )
        )
    return tuple(out)


def _more_than(n: int | None, have: int) -> int | None:
    """An undecided pair needs more seeds than it has, whatever the 80 %-power estimate says
    (the estimate is met by some designs of that size, not by every draw)."""
    return None if n is None else max(n, have + 1)


def _final(values, a: str, b: str, seeds: Sequence[int], margin: float):
    x, y = paired_values({s: values[a].get(s) for s in seeds}, {s: values[b].get(s) for s in seeds})
    return compare_pair(a, b, x, y, wilcoxon=False), tost_p(x, y, margin)


def family_of(labels: Sequence[str], baseline: str | None) -> tuple[tuple[str, str], ...]:
    """Every pair of orders, or each order against ``baseline`` (differences order - baseline)."""
    if baseline is None:
        return tuple((a, b) for i, a in enumerate(labels) for b in labels[i + 1:])
    return tuple((label, baseline) for label in labels if label != baseline)
