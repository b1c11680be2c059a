"""The decisions table's intervals agree with its decisions: simultaneous (Bonferroni over the
family), so an undecided pair's interval never excludes zero (checked by simulation)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from layerorder.stats.analysis import analyze
from layerorder.stats.decisions import decide_pairs, family_of
from layerorder.stats.table import decisions_table
from tests.studies.helpers import run


def test_undecided_pairs_never_have_an_interval_that_excludes_zero():
    rng = np.random.default_rng(7)
    labels = ["a", "b", "c", "d"]
    family = family_of(labels, None)
    seen = {"undecided": 0, "different": 0}
    for _ in range(300):
        shifts = rng.normal(0, 0.6, size=4)
        values = {lab: {s: 90 + shifts[k] + rng.normal(0, 0.8) for s in range(6)}
                  for k, lab in enumerate(labels)}
        for d in decide_pairs(values, family):
            excludes = d.sim_low > 0 or d.sim_high < 0
            if d.decision == "undecided":
                assert not excludes
            if excludes:
                assert d.decision in ("different", "equivalent")
            seen[d.decision if d.decision in seen else "different"] += 1
    assert seen["undecided"] > 50 and seen["different"] > 50


def test_simultaneous_interval_is_scipys_t_interval_at_the_bonferroni_level():
    rng = np.random.default_rng(1)
    values = {lab: {s: 90 + k + rng.normal(0, 1) for s in range(8)}
              for k, lab in enumerate("abc")}
    d = decide_pairs(values, family_of(list("abc"), None))[0]
    diff = np.array([values["a"][s] - values["b"][s] for s in range(8)])
    lo, hi = stats.t.interval(1 - 0.05 / 3, 7, loc=diff.mean(), scale=stats.sem(diff))
    assert d.sim_level == 1 - 0.05 / 3
    assert (d.sim_low, d.sim_high) == (lo, hi) or np.allclose((d.sim_low, d.sim_high), (lo, hi))


def test_the_decisions_table_labels_its_intervals():
    runs = [run(i + 1, lab, s, 90.0 + k + 0.1 * s * (k + 1))
            for i, (k, lab, s) in enumerate((k, lab, s) for k, lab in enumerate("ab")
                                            for s in range(5))]
    table = decisions_table(analyze(tuple(runs)))
    assert "simultaneous CI" in table.columns
    assert ("95% confidence (alpha split over the family's pairs, Bonferroni: 1 - alpha/m"
            in table.note)


def test_equivalent_pairs_show_the_tost_interval_inside_the_margin():
    """A pair called equivalent shows the interval TOST reads (1 - 2 alpha / m, scipy's t
    interval), inside the margin unless Holm's step-down decided it (then footnoted)."""
    from layerorder.stats.decisions import DEFAULT_MARGIN

    rng = np.random.default_rng(11)
    labels = ["a", "b", "c", "d"]
    family = family_of(labels, None)
    m, seen, footnoted = len(family), 0, 0
    for _ in range(200):
        values = {lab: {s: 90 + rng.normal(0, 0.15) for s in range(10)} for lab in labels}
        for d in decide_pairs(values, family):
            if d.decision != "equivalent":
                continue
            seen += 1
            assert d.sim_level == 1 - 2 * 0.05 / m
            diff = np.array([values[d.a][s] - values[d.b][s] for s in range(10)])
            lo, hi = stats.t.interval(1 - 2 * 0.05 / m, 9, loc=diff.mean(),
                                      scale=stats.sem(diff))
            assert np.allclose((d.sim_low, d.sim_high), (lo, hi))
            footnoted += d.sim_low < -DEFAULT_MARGIN or d.sim_high > DEFAULT_MARGIN
    assert seen > 100 and footnoted < seen / 10
