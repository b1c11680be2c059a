"""Power of the paired t-test: noncentral t against itself and against a simulation."""

import math

import numpy as np
import pytest
from scipy import stats

from layerorder.stats import min_detectable_difference, paired_power, seeds_needed


@pytest.mark.parametrize(("sd", "n"), [(0.5, 2), (0.5, 5), (1.3, 10), (0.2, 40)])
def test_power_at_the_mdd_is_the_target(sd, n):
    mdd = min_detectable_difference(sd, n)
    assert mdd > 0
    assert paired_power(mdd, sd, n) == pytest.approx(0.8, abs=1e-6)
    assert paired_power(-mdd, sd, n) == pytest.approx(0.8, abs=1e-6)


def test_mdd_scales_with_sd_and_respects_levels():
    assert min_detectable_difference(1.0, 8) == pytest.approx(
        2 * min_detectable_difference(0.5, 8), rel=1e-9
    )
    looser = min_detectable_difference(0.5, 8, alpha=0.1, power=0.5)
    assert paired_power(looser, 0.5, 8, alpha=0.1) == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize(("sd", "delta"), [(0.5, 0.5), (0.8, 0.5), (1.0, 0.2), (0.3, 1.0)])
def test_seeds_needed_is_the_smallest_n(sd, delta):
    n = seeds_needed(sd, delta)
    assert paired_power(delta, sd, n) >= 0.8
    if n > 2:
        assert paired_power(delta, sd, n - 1) < 0.8


def test_seeds_needed_limits():
    assert seeds_needed(0.01, 0.5) == 2
    assert seeds_needed(0.0, 0.5) == 2
    assert seeds_needed(5.0, 0.01, max_n=100) is None
    assert seeds_needed(float("nan")) is None
    assert seeds_needed(0.5, 0.0) is None


def test_undefined_and_degenerate_inputs():
    assert math.isnan(min_detectable_difference(0.5, 1))
    assert math.isnan(min_detectable_difference(float("nan"), 5))
    assert min_detectable_difference(0.0, 5) == 0.0
    assert math.isnan(paired_power(0.5, 0.5, 1))
    assert paired_power(0.5, 0.0, 3) == 1.0
    assert paired_power(0.0, 0.5, 6) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        min_detectable_difference(0.5, 5, power=0.01)


@pytest.mark.parametrize(("delta", "sd", "n"), [(0.6, 0.5, 5), (0.3, 0.5, 12), (1.0, 1.0, 3)])
def test_power_matches_monte_carlo(delta, sd, n):
    rng = np.random.default_rng(20240607)
    experiments = 20_000
    b = rng.normal(97.0, 0.4, size=(experiments, n))
    a = b + rng.normal(delta, sd, size=(experiments, n))
    rejected = stats.ttest_rel(a, b, axis=1).pvalue < 0.05
    assert paired_power(delta, sd, n) == pytest.approx(rejected.mean(), abs=0.012)
