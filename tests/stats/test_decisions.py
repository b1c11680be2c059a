"""Decisions per pair: t-test and TOST against scipy and statsmodels, Holm, the family."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_paired

from layerorder.stats.decisions import (
    decide_pairs,
    family_of,
    look_pvalues,
    seeds_to_decide,
    tost_p,
)
from layerorder.stats.holm import holm
from layerorder.stats.paired import compare_pairs, subtraction_rounding
from layerorder.stats.power import tost_power


@pytest.mark.parametrize("seed", range(5))
def test_look_pvalues_equal_scipy_and_statsmodels(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(90, 1, 7), rng.normal(90.3, 1, 7)
    p_t, p_tost = look_pvalues(x - y, 0.8)
    assert p_t == pytest.approx(stats.ttest_rel(x, y).pvalue, rel=1e-9)
    assert p_tost == pytest.approx(ttost_paired(x, y, -0.8, 0.8)[0], rel=1e-9)
    assert tost_p(x, y, 0.8) == pytest.approx(p_tost, rel=1e-9)


def test_constant_differences_are_decided_without_nan():
    assert look_pvalues(np.array([0.2, 0.2, 0.2]), 0.5)[0] < 1e-20  # float noise: sd ~ 1e-17
    assert look_pvalues(np.array([0.0, 0.0]), 0.5) == (1.0, 0.0)
    assert look_pvalues(np.array([1.0, 1.0]), 0.5) == (0.0, 1.0)


def test_differences_equal_up_to_rounding_decide_as_the_paired_comparison_does():
    """Two-decimal accuracies a constant 1.47 points apart subtract to differences a few ulps
    apart: a look takes them as the constant they are, as ``compare_pairs`` does, and a
    constant zero difference blurred by rounding is no difference."""
    base, up = [83.4, 10.2, 87.2, 13.0], [84.87, 11.67, 88.67, 14.47]
    x, y = np.array(up), np.array(base)
    assert np.ptp(x - y) > 0
    assert look_pvalues(x - y, 0.5, subtraction_rounding(x, y)) == (0.0, 1.0)
    (pair,) = compare_pairs({"up": dict(enumerate(up)), "base": dict(enumerate(base))})
    assert pair.p_t == 0.0
    blurred = np.array([0.0, 4e-15, -3e-15])
    assert look_pvalues(blurred, 0.5, subtraction_rounding(x, y)) == (1.0, 0.0)
    assert tost_p(x, y, 0.5) == 1.0 and tost_p(x, y, 2.0) == 0.0  # the final TOST too


def _values(means, n=8, sd=0.3, seed=0):
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, 1, n)
    return {k: dict(enumerate(shared + m + rng.normal(0, sd, n))) for k, m in means.items()}


def test_clear_difference_equivalence_and_undecided():
    values = _values({"std": 95.0, "same": 95.0, "worse": 92.0, "noisy": 94.6}, n=10)
    values["noisy"] = {s: v + np.random.default_rng(s).normal(0, 2) for s, v in
                       values["noisy"].items()}
    got = {(d.a, d.b): d for d in decide_pairs(values, family_of(list(values), "std"))}
    assert got[("worse", "std")].decision == "different"
    assert got[("same", "std")].decision == "equivalent"
    noisy = got[("noisy", "std")]
    assert noisy.decision == "undecided" and noisy.seeds_to_decide > 10
    assert noisy.decided_at is None and got[("worse", "std")].decided_at == 10


def test_holm_is_over_the_family_only():
    values = _values({"a": 95.0, "b": 94.7, "c": 94.8, "d": 95.1}, sd=0.4)
    every = decide_pairs(values, family_of(list(values), None))
    vs_a = decide_pairs(values, family_of(list(values), "a"))
    assert len(every) == 6 and len(vs_a) == 3
    assert [d.p_holm for d in vs_a] == pytest.approx(holm([d.p_t for d in vs_a]))
    for d in vs_a:  # fewer tests: each adjusted p is at most the all-pairs one
        same = next(e for e in every if {e.a, e.b} == {d.a, d.b})
        assert d.p_holm <= same.p_holm + 1e-12


def test_seeds_to_decide_reaches_the_power_it_promises():
    n = seeds_to_decide(0.1, 0.4, 0.5, 0.05)  # inside the margin: the TOST decides first
    assert tost_power(0.1, 0.4, n, 0.5) >= 0.8 > tost_power(0.1, 0.4, n - 1, 0.5)
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(2000):
        diff = rng.normal(0.1, 0.4, n)
        hits += look_pvalues(diff, 0.5)[1] < 0.05
    assert hits / 2000 >= 0.8 - 0.03  # the lower bound the power uses is conservative


def test_a_pair_found_different_still_counts_in_the_equivalence_family():
    """Three orders clearly worse than 'std' and one close to it whose raw TOST p (about 0.02)
    passes alone but not Holm over the four equivalence nulls: the pairs found different at the
    first look have not had their equivalence null rejected, so they still count, and the
    sequential design decides 'close' no more liberally than the fixed one."""
    from layerorder.stats.sequential import Design, look_schedule

    rng = np.random.default_rng(0)
    z = rng.normal(size=20)
    close_diff = 0.1 + 0.81 * (z - z.mean()) / z.std(ddof=1)
    base = dict(enumerate(rng.normal(95, 1, 20)))
    values = {"std": base, "close": {s: v + close_diff[s] for s, v in base.items()}}
    for k, shift in (("w1", -3.0), ("w2", -3.5), ("w3", -4.0)):
        values[k] = {s: v + shift + rng.normal(0, 0.3) for s, v in base.items()}
    family = family_of(list(values), "std")
    fixed = {d.a: d for d in decide_pairs(values, family)}
    seq = {d.a: d for d in decide_pairs(values, family, design=Design(look_schedule(5, 20)))}
    assert 0.01 < fixed["close"].p_tost < 0.03 and fixed["close"].p_tost_holm > 0.05
    assert fixed["close"].decision == seq["close"].decision == "undecided"
    assert max(seq[k].decided_at for k in ("w1", "w2", "w3")) < 20  # decided before the end


def test_seeds_to_decide_counts_the_family_it_is_tested_in():
    values = _values({"a": 95.0, "b": 94.8, "c": 95.1, "d": 94.9, "e": 95.2}, n=6, sd=0.5)
    alone = decide_pairs({k: values[k] for k in ("a", "b")}, [("a", "b")])[0]
    among = next(d for d in decide_pairs(values, family_of(list(values), None))
                 if (d.a, d.b) == ("a", "b"))
    assert alone.decision == among.decision == "undecided"
    assert among.seeds_to_decide > alone.seeds_to_decide
    level = 0.05 / sum(d.decision != "different" for d in decide_pairs(
        values, family_of(list(values), None)))
    expected = seeds_to_decide(among.mean_diff, among.sd_diff, 0.5, level)
    assert among.seeds_to_decide == max(expected, among.n_pairs + 1)
