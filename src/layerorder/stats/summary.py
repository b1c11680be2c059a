"""Per-order summary of final accuracies over seeds: mean, SD, t-interval, median."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NAN = float("nan")


@dataclass(frozen=True)
class OrderSummary:
    """Final test accuracy (percent) of one order over the seeds that finished.

    ``n`` counts the finished runs that enter the mean; diverged and failed runs are
    only counted. ``sd`` uses ddof=1. Fields are nan where undefined (``sd`` and the
    CI need n >= 2; everything but the counts needs n >= 1).
    """

    label: str
    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    median: float
    n_diverged: int
    n_failed: int


def finite_array(values: Sequence[float], what: str) -> np.ndarray:
    """``values`` as a 1-d float array; ValueError on nan/inf (diverged runs are counts)."""
    arr = np.asarray(values, dtype=float).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{what} contains non-finite values {arr.tolist()}; leave diverged runs out "
            "of the values and pass them as n_diverged"
        )
    return arr


def t_interval(mean: float, sd: float, n: int, confidence: float) -> tuple[float, float]:
    """Two-sided t confidence interval for a mean; (nan, nan) when n < 2.

    When ``sd == 0`` scipy returns nan (scale must be positive); the interval is the
    degenerate ``(mean, mean)`` instead.
    """
    from scipy import stats

    if n < 2 or not math.isfinite(sd):
        return NAN, NAN
    if sd == 0.0:
        return mean, mean
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return float(low), float(high)


def summarize(
    label: str,
    values: Sequence[float],
    *,
    n_diverged: int = 0,
    n_failed: int = 0,
    confidence: float = 0.95,
    bounds: tuple[float, float] = (0.0, 100.0),
) -> OrderSummary:
    """Summarise the finished runs of one order.

    ``values`` are final accuracies in percent of the runs that finished (no nan:
    diverged runs are excluded from the mean and passed as ``n_diverged``).
    The CI is ``scipy.stats.t.interval(confidence, n-1, loc=mean, scale=sem)``, clipped to
    the metric's ``bounds`` (an accuracy cannot leave 0-100 %, however few the seeds).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_diverged < 0 or n_failed < 0:
        raise ValueError("n_diverged and n_failed must be >= 0")
    arr = finite_array(values, f"values of {label!r}")
    n = int(arr.size)
    mean = float(np.mean(arr)) if n else NAN
    sd = float(np.std(arr, ddof=1)) if n >= 2 else NAN
    ci_low, ci_high = t_interval(mean, sd, n, confidence)
    if math.isfinite(ci_low):
        ci_low, ci_high = max(ci_low, bounds[0]), min(ci_high, bounds[1])
    return OrderSummary(
        label=label,
        n=n,
        mean=mean,
        sd=sd,
        ci_low=ci_low,
        ci_high=ci_high,
        median=float(np.median(arr)) if n else NAN,
        n_diverged=int(n_diverged),
        n_failed=int(n_failed),
    )
