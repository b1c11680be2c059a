"""compare_pairs() against scipy.stats.ttest_rel / wilcoxon / t.interval, and holm()."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from layerorder.stats import compare_pairs, holm

A = [97.1, 97.9, 97.4, 96.8, 97.6, 97.3]
B = [96.5, 97.2, 97.5, 96.1, 96.9, 97.0]
C = [93.0, 94.2, 93.1, 92.8, 93.9, 93.3]


def _results():
    return {
        "bn-first": dict(enumerate(A)),
        "act-first": dict(enumerate(B)),
        "no-norm": dict(enumerate(C)),
    }


def test_pairs_follow_insertion_order():
    pairs = compare_pairs(_results())
    assert [(p.a, p.b) for p in pairs] == [
        ("bn-first", "act-first"),
        ("bn-first", "no-norm"),
        ("act-first", "no-norm"),
    ]


def test_pair_matches_scipy():
    pair = compare_pairs(_results())[0]
    x, y = np.array(A), np.array(B)
    d = x - y
    ref_t = stats.ttest_rel(x, y)
    low, high = stats.t.interval(0.95, d.size - 1, loc=d.mean(), scale=stats.sem(d))
    assert pair.n_pairs == 6
    assert pair.mean_diff == pytest.approx(d.mean(), abs=1e-12)
    assert pair.sd_diff == pytest.approx(d.std(ddof=1), abs=1e-12)
    assert (pair.ci_low, pair.ci_high) == pytest.approx((low, high), abs=1e-12)
    assert pair.t_stat == pytest.approx(ref_t.statistic, rel=1e-12)
    assert pair.p_t == pytest.approx(ref_t.pvalue, rel=1e-12)
    assert pair.p_wilcoxon == pytest.approx(stats.wilcoxon(x, y).pvalue, rel=1e-12)
    assert pair.effect_size == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-12)


def test_p_holm_adjusts_the_whole_family():
    pairs = compare_pairs(_results())
    assert [p.p_holm for p in pairs] == pytest.approx(holm([p.p_t for p in pairs]))


def test_missing_and_diverged_seeds_are_dropped_from_the_pair():
    results = _results()
    del results["act-first"][0]
    results["bn-first"][5] = None
    results["act-first"][4] = float("nan")
    pair = compare_pairs(results)[0]
    x, y = np.array(A)[[1, 2, 3]], np.array(B)[[1, 2, 3]]
    assert pair.n_pairs == 3
    assert pair.p_t == pytest.approx(stats.ttest_rel(x, y).pvalue, rel=1e-12)
    assert compare_pairs(results)[1].n_pairs == 5  # bn-first vs no-norm loses seed 5 only


def test_order_compared_with_itself_has_no_difference():
    results = {"a": dict(enumerate(A)), "a-again": dict(enumerate(A))}
    (pair,) = compare_pairs(results)
    assert (pair.mean_diff, pair.t_stat, pair.p_t, pair.p_holm) == (0.0, 0.0, 1.0, 1.0)
    assert (pair.ci_low, pair.ci_high, pair.effect_size) == (0.0, 0.0, 0.0)
    assert math.isnan(pair.p_wilcoxon)


def test_constant_nonzero_difference_is_certain():
    results = {
        "up": {s: v + 1.0 for s, v in enumerate([1.0, 2.0, 4.0])},
        "base": {0: 1.0, 1: 2.0, 2: 4.0},
    }
    (pair,) = compare_pairs(results)
    assert pair.mean_diff == 1.0 and pair.p_t == 0.0
    assert pair.t_stat == math.inf and pair.effect_size == math.inf
    assert pair.p_wilcoxon == pytest.approx(stats.wilcoxon([2.0, 3, 5], [1.0, 2, 4]).pvalue)


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_pairs_give_nan(n):
    results = {"a": dict(enumerate(A[:n])), "b": dict(enumerate(B[:n]))}
    (pair,) = compare_pairs(results)
    assert pair.n_pairs == n
    fields = (pair.ci_low, pair.t_stat, pair.p_t, pair.p_wilcoxon, pair.effect_size, pair.p_holm)
    assert all(math.isnan(v) for v in fields)


def test_holm_textbook_example():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_by_hand_with_cap_ties_and_nan():
    # sorted 0.01, 0.02, 0.02, 0.5 (m=4): 0.04, 0.06, max(0.06, 0.04), min(1, 0.5)
    out = holm([0.02, float("nan"), 0.5, 0.01, 0.02])
    assert out[0] == pytest.approx(0.06) and math.isnan(out[1])
    assert out[2:] == pytest.approx([0.5, 0.04, 0.06])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_holm_rejects_impossible_p():
    with pytest.raises(ValueError):
        holm([0.5, 1.5])


probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(st.lists(probabilities, min_size=1, max_size=30))
def test_holm_is_monotone_bounded_and_at_least_raw(ps):
    adjusted = holm(ps)
    for i, j in [(i, j) for i in range(len(ps)) for j in range(len(ps))]:
        if ps[i] <= ps[j]:
            assert adjusted[i] <= adjusted[j]
    assert all(p <= q <= 1.0 for p, q in zip(ps, adjusted, strict=True))
    assert min(adjusted) == pytest.approx(min(1.0, len(ps) * min(ps)))


def test_differences_equal_up_to_rounding_are_constant_without_scipys_warning():
    """Accuracies (stored to two decimals) a constant 1.47 points apart, whose subtraction
    rounds to differences a few ulps apart: scipy's t-test is rounding noise there (it warns of
    a catastrophic cancellation); the pair is taken as the constant difference it is."""
    base = [83.4, 10.2, 87.2, 13.0]
    up = [84.87, 11.67, 88.67, 14.47]
    diff = np.array(up) - np.array(base)
    assert np.ptp(diff) > 0  # the rounding is real
    results = {"up": dict(enumerate(up)), "base": dict(enumerate(base))}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (pair,) = compare_pairs(results)
    assert pair.mean_diff == pytest.approx(1.47) and pair.sd_diff == 0.0
    assert (pair.t_stat, pair.p_t, pair.effect_size) == (math.inf, 0.0, math.inf)
    assert pair.ci_low == pair.ci_high == pair.mean_diff


def test_a_zero_difference_blurred_by_rounding_is_no_difference():
    """Accuracies computed two ways that agree up to the last bits: no difference at all, as for
    identical values (mean 0, t 0, p 1, d_z 0), not an infinitely certain one of 1e-16."""
    base = np.array([83.4, 10.2, 87.2, 13.0])
    blurred = base + np.array([0.0, 4e-15, -3e-15, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (pair,) = compare_pairs({"a": dict(enumerate(blurred)), "b": dict(enumerate(base))})
    assert (pair.mean_diff, pair.sd_diff, pair.t_stat, pair.p_t) == (0.0, 0.0, 0.0, 1.0)
    assert pair.effect_size == 0.0 and math.isnan(pair.p_wilcoxon)

