"""summarize() against numpy and scipy.stats.t.interval."""

import math

import numpy as np
import pytest
from scipy import stats

from layerorder.stats import OrderSummary, summarize

VALUES = [97.1, 97.9, 97.4, 96.8, 97.6]


def test_summary_matches_numpy_and_scipy():
    s = summarize("conv-bn-relu", VALUES, n_diverged=2, n_failed=1)
    x = np.array(VALUES)
    sem = x.std(ddof=1) / math.sqrt(x.size)
    low, high = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=sem)
    assert s == OrderSummary(
        label="conv-bn-relu",
        n=5,
        mean=pytest.approx(x.mean(), abs=1e-12),
        sd=pytest.approx(x.std(ddof=1), abs=1e-12),
        ci_low=pytest.approx(low, abs=1e-12),
        ci_high=pytest.approx(high, abs=1e-12),
        median=97.4,
        n_diverged=2,
        n_failed=1,
    )


def test_confidence_level_is_used():
    x = np.array(VALUES)
    s = summarize("a", VALUES, confidence=0.9)
    low, high = stats.t.interval(0.9, 4, loc=x.mean(), scale=stats.sem(x))
    assert (s.ci_low, s.ci_high) == pytest.approx((low, high), abs=1e-12)


def test_single_seed_has_mean_but_no_spread():
    s = summarize("a", [91.0])
    assert (s.n, s.mean, s.median) == (1, 91.0, 91.0)
    assert math.isnan(s.sd) and math.isnan(s.ci_low) and math.isnan(s.ci_high)


def test_no_finished_run_is_all_nan():
    s = summarize("a", [], n_diverged=3)
    assert s.n == 0 and s.n_diverged == 3
    assert all(math.isnan(v) for v in (s.mean, s.sd, s.ci_low, s.ci_high, s.median))


def test_zero_spread_gives_degenerate_interval():
    s = summarize("a", [90.0, 90.0, 90.0])
    assert (s.sd, s.ci_low, s.ci_high) == (0.0, 90.0, 90.0)


def test_nan_value_is_rejected_with_a_hint():
    with pytest.raises(ValueError, match="n_diverged"):
        summarize("a", [90.0, float("nan")])
