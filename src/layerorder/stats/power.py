"""Power of the two-sided paired t-test, from the noncentral t distribution.

The paired differences are modelled as normal with mean ``delta`` and SD ``sd_diff``;
the t statistic of n of them follows ``nct(df=n-1, nc=delta * sqrt(n) / sd_diff)``.
Power is ``P(|T| > t_crit)`` with ``t_crit = t.ppf(1 - alpha/2, n-1)``.
"""

from __future__ import annotations

import math

from scipy import optimize, stats

NAN = float("nan")


def _check_levels(alpha: float, power: float | None = None) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if power is not None and not alpha < power < 1.0:
        raise ValueError(f"power must be in (alpha, 1) = ({alpha}, 1), got {power}")


def _standardized_power(effect: float, n: int, alpha: float) -> float:
    """Power for a standardised effect d_z = delta / sd_diff (finite, n >= 2)."""
    df = n - 1
    t_crit = stats.t.ppf(1.0 - alpha / 2.0, df)
    nc = abs(effect) * math.sqrt(n)
    # P(T < -t_crit | nc) is computed as P(T > t_crit | -nc): scipy's nct.cdf returns nan
    # far in the lower tail (e.g. df=1, nc=20), its sf with a negated nc does not.
    upper = stats.nct.sf(t_crit, df, nc)
    lower = stats.nct.sf(t_crit, df, -nc)
    return float(min(1.0, upper + lower))


def paired_power(delta: float, sd_diff: float, n: int, alpha: float = 0.05) -> float:
    """Probability that a two-sided paired t-test at level ``alpha`` with ``n`` pairs
    rejects when the true mean difference is ``delta`` and the SD of differences is
    ``sd_diff``. nan when n < 2 or an input is nan. With ``sd_diff == 0`` the limits
    are used: 1.0 for a nonzero ``delta``, ``alpha`` for ``delta == 0``.
    """
    _check_levels(alpha)
    if n < 2 or math.isnan(delta) or math.isnan(sd_diff):
        return NAN
    if sd_diff < 0:
        raise ValueError(f"sd_diff must be >= 0, got {sd_diff}")
    if sd_diff == 0.0:
        return 1.0 if delta != 0.0 else alpha
    return _standardized_power(delta / sd_diff, n, alpha)


def min_detectable_difference(
    sd_diff: float, n: int, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest true mean paired difference that a two-sided paired t-test with ``n``
    pairs detects with probability ``power`` (the root of ``paired_power(delta) ==
    power``, found with ``scipy.optimize.brentq`` on the standardised effect).
    nan when n < 2 or ``sd_diff`` is nan; 0.0 when ``sd_diff == 0``.
    """
    _check_levels(alpha, power)
    if n < 2 or math.isnan(sd_diff):
        return NAN
    if sd_diff < 0:
        raise ValueError(f"sd_diff must be >= 0, got {sd_diff}")
    if sd_diff == 0.0:
        return 0.0

    def gap(effect: float) -> float:
        return _standardized_power(effect, n, alpha) - power

    high = 1.0
    while gap(high) < 0.0:  # power -> 1 as effect grows, so this ends
        high *= 2.0
    effect = optimize.brentq(gap, 0.0, high, xtol=1e-14, rtol=1e-14)
    return float(effect * sd_diff)


def seeds_needed(
    sd_diff: float,
    delta: float = 0.5,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    max_n: int = 10_000,
) -> int | None:
    """Smallest n >= 2 (seeds per order, i.e. pairs) whose paired t-test reaches
    ``power`` for a true difference ``delta``; None when that n exceeds ``max_n``, or
    ``sd_diff`` is undefined (nan), or ``delta`` is 0 or nan. Power increases with n,
    so the search doubles n and then bisects.
    """
    _check_levels(alpha, power)
    if math.isnan(sd_diff) or math.isnan(delta) or delta == 0.0 or max_n < 2:
        return None

    def enough(n: int) -> bool:
        return paired_power(delta, sd_diff, n, alpha) >= power

    return smallest_n(enough, max_n)


def smallest_n(enough, max_n: int = 10_000) -> int | None:
    """Smallest n >= 2 with ``enough(n)`` for a condition that, once true, stays true as n
    grows; None when even ``max_n`` is not enough. Doubles n, then bisects."""
    if max_n < 2:
        return None
    if enough(2):
        return 2
    low, high = 2, 4  # invariant: enough(low) is False
    while not enough(min(high, max_n)):
        if high >= max_n:
            return None
        low, high = high, high * 2
    high = min(high, max_n)
    while high - low > 1:  # enough(high) is True, enough(low) is False
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def tost_power(delta: float, sd_diff: float, n: int, margin: float, alpha: float = 0.05) -> float:
    """Probability that a paired TOST at level ``alpha`` with ``n`` pairs shows equivalence
    within +-``margin`` when the true mean difference is ``delta``. The two one-sided t
    statistics share their denominator; this uses the usual lower bound
    ``P(lower rejects) + P(upper rejects) - 1`` from their noncentral t distributions (exact
    as n grows; it slightly understates the power of very small designs). nan when n < 2."""
    _check_levels(alpha)
    if n < 2 or math.isnan(delta) or math.isnan(sd_diff) or margin <= 0:
        return NAN
    if sd_diff == 0.0:
        return 1.0 if abs(delta) < margin else 0.0
    df = n - 1
    t_crit = stats.t.ppf(1.0 - alpha, df)
    root = math.sqrt(n) / sd_diff
    lower = stats.nct.sf(t_crit, df, (delta + margin) * root)  # (mean + margin)/se > t_crit
    upper = stats.nct.sf(t_crit, df, (margin - delta) * root)  # (margin - mean)/se > t_crit
    return float(max(0.0, lower + upper - 1.0))
