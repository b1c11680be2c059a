"""Paired comparisons of orders over common seeds: t-test, Wilcoxon, d_z, Holm."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from layerorder.stats.holm import holm
from layerorder.stats.summary import NAN, t_interval


@dataclass(frozen=True)
class PairComparison:
    """Order ``a`` against order ``b`` on the seeds both finished (differences are a - b).

    ``ci_low``/``ci_high``: t confidence interval of the mean paired difference.
    ``p_t``: two-sided paired t-test (``scipy.stats.ttest_rel``); when every difference is the
    same value (up to the rounding of ``a - b``) scipy returns nan or rounding noise, and here
    ``p_t`` is 1.0 if that value is 0 (t = 0) and 0.0 otherwise (t = +-inf: a constant
    nonzero difference is taken as certain). ``p_wilcoxon``: ``scipy.stats.wilcoxon``
    two-sided, nan when n < 2 or all differences are 0. ``effect_size``: Cohen's d_z =
    mean_diff / sd_diff (0.0 when both are 0, +-inf when only sd_diff is 0). ``p_holm``:
    ``p_t`` Holm-adjusted across all pairs of the family. ``sd_diff`` (ddof=1; 0 for
    differences equal up to rounding) feeds the power calculations; it is the last field so
    that positional construction of the documented fields still works.
    """

    a: str
    b: str
    n_pairs: int
    mean_diff: float
    ci_low: float
    ci_high: float
    t_stat: float
    p_t: float
    p_wilcoxon: float
    effect_size: float
    p_holm: float
    sd_diff: float = NAN


def paired_values(
    first: Mapping[int, float | None], second: Mapping[int, float | None]
) -> tuple[np.ndarray, np.ndarray]:
    """Values of the seeds present and finite in both maps, in ``first``'s seed order."""
    x, y = [], []
    for seed, value in first.items():
        other = second.get(seed)
        if _is_value(value) and _is_value(other):
            x.append(float(value))
            y.append(float(other))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _is_value(value: float | None) -> bool:
    return value is not None and math.isfinite(float(value))


def subtraction_rounding(x: np.ndarray, y: np.ndarray) -> float:
    """How far apart the differences ``x - y`` of equal true differences can come out from the
    rounding of the subtraction alone."""
    return 8 * float(np.finfo(float).eps) * max(float(np.max(np.abs(x), initial=0.0)),
                                                float(np.max(np.abs(y), initial=0.0)))


def difference_moments(diff: np.ndarray, rounding: float = 0.0) -> tuple[float, float]:
    """(mean, SD with ddof=1) of two or more paired differences. Differences within
    ``rounding`` of each other (``subtraction_rounding``) are constant, SD 0: there scipy's
    moments are rounding noise, and it warns of a catastrophic cancellation; a constant within
    ``rounding`` of zero is zero."""
    mean = float(np.mean(diff))
    if float(np.ptp(diff)) <= rounding:
        return (0.0 if abs(mean) <= rounding else mean), 0.0
    return mean, float(np.std(diff, ddof=1))


def _t_test(x: np.ndarray, y: np.ndarray, mean_diff: float,
            sd_diff: float) -> tuple[float, float]:
    """(t, p) of the paired t-test, defined for constant differences (see PairComparison)."""
    if sd_diff == 0.0:
        return (0.0, 1.0) if mean_diff == 0.0 else (math.copysign(math.inf, mean_diff), 0.0)
    result = stats.ttest_rel(x, y)
    return float(result.statistic), float(result.pvalue)


def _wilcoxon(x: np.ndarray, y: np.ndarray, mean_diff: float, sd_diff: float) -> float:
    if x.size < 2 or (mean_diff == 0.0 and sd_diff == 0.0):  # every difference zero
        return NAN
    return float(stats.wilcoxon(x, y).pvalue)


def _effect_size(mean_diff: float, sd_diff: float) -> float:
    if not math.isfinite(sd_diff):
        return NAN
    if sd_diff == 0.0:
        return 0.0 if mean_diff == 0.0 else math.copysign(math.inf, mean_diff)
    return mean_diff / sd_diff


def compare_pair(
    a: str,
    b: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    confidence: float = 0.95,
    wilcoxon: bool = True,
) -> PairComparison:
    """One paired comparison of already-aligned values (``p_holm`` left equal to ``p_t``;
    ``wilcoxon=False`` leaves ``p_wilcoxon`` nan, for callers that do not show it)."""
    diff = x - y
    n = int(diff.size)
    mean_diff, sd_diff = float(np.mean(diff)) if n else NAN, NAN
    if n >= 2:
        mean_diff, sd_diff = difference_moments(diff, subtraction_rounding(x, y))
    ci_low, ci_high = t_interval(mean_diff, sd_diff, n, confidence)
    t_stat, p_t = _t_test(x, y, mean_diff, sd_diff) if n >= 2 else (NAN, NAN)
    return PairComparison(
        a=a,
        b=b,
        n_pairs=n,
        mean_diff=mean_diff,
        ci_low=ci_low,
        ci_high=ci_high,
        t_stat=t_stat,
        p_t=p_t,
        p_wilcoxon=_wilcoxon(x, y, mean_diff, sd_diff) if wilcoxon else NAN,
        effect_size=_effect_size(mean_diff, sd_diff),
        p_holm=p_t,
        sd_diff=sd_diff,
    )


def compare_pairs(
    results: Mapping[str, Mapping[int, float | None]],
    *,
    confidence: float = 0.95,
) -> list[PairComparison]:
    """All pairwise comparisons of the orders in ``results[label][seed] = accuracy``.

    Pairs follow ``itertools.combinations`` over the labels in insertion order (a
    before b). Each pair uses the seeds present in both with a finite value (None
    or nan marks a diverged or missing run and drops that seed from this pair).
    ``p_holm`` adjusts ``p_t`` over the whole family of pairs.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    pairs = []
    for a, b in itertools.combinations(results, 2):
        x, y = paired_values(results[a], results[b])
        pairs.append(compare_pair(a, b, x, y, confidence=confidence))
    adjusted = holm([pair.p_t for pair in pairs])
    return [replace(pair, p_holm=p) for pair, p in zip(pairs, adjusted, strict=True)]
