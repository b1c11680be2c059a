"""The order x factor interaction against the paired-difference ANOVA it reduces to."""

import numpy as np
import pytest
from scipy import stats

from layerorder.stats.interaction import Observation, interaction_tests


def _observations(effect_by_level, n=6, seed=0, noise=0.3, skew=False):
    rng = np.random.default_rng(seed)
    out = []
    for level, effect in effect_by_level.items():
        for s in range(n):
            base = rng.normal(90, 1)
            e = rng.exponential(noise) if skew else rng.normal(0, noise)
            out.append(Observation("a", (("batch_size", level),), s, base + rng.normal(0, noise)))
            out.append(Observation("b", (("batch_size", level),), s, base + effect + e))
    return out


def test_two_orders_reduce_to_a_one_way_anova_of_the_differences():
    obs = _observations({8: -1.0, 32: -0.4, 128: 0.0})
    (i,) = interaction_tests(obs, ["batch_size"])
    diffs = {}
    for o in obs:
        diffs.setdefault(o.levels, {}).setdefault(o.seed, {})[o.label] = o.value
    groups = [[v["b"] - v["a"] for v in by_seed.values()] for by_seed in diffs.values()]
    reference = stats.f_oneway(*groups)
    assert i.f_anova == pytest.approx(reference.statistic, rel=1e-6)
    assert i.p_anova == pytest.approx(reference.pvalue, rel=1e-6)
    assert i.p < 0.05 and i.df_num == 2


def test_no_interaction_is_not_reported_and_ranks_stand_in_when_not_normal():
    (i,) = interaction_tests(_observations({8: -0.5, 128: -0.5}, seed=1), ["batch_size"])
    assert i.p_anova > 0.05
    outlier = _observations({8: -0.5, 128: -0.5}, seed=2)
    outlier[1] = Observation("b", outlier[1].levels, outlier[1].seed, outlier[1].value - 30.0)
    (j,) = interaction_tests(outlier, ["batch_size"])
    assert j.p_normal < 0.05 and j.test == "aligned ranks" and j.p == j.p_rank


def test_one_seed_per_condition_is_not_testable():
    (i,) = interaction_tests(_observations({8: -1.0, 128: 0.0}, n=1), ["batch_size"])
    assert np.isnan(i.p) and np.isnan(i.p_anova)
