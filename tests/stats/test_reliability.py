"""Reliability: Brown-Forsythe against scipy, Fisher's exact test, the measured ResNet case."""

import numpy as np
import pytest
from scipy import stats

from layerorder.stats.analysis import analyze
from layerorder.stats.reliability import COLLAPSE_POINTS, Outcomes, compare_spread
from tests.stats.test_stats_analysis import _run


def test_brown_forsythe_is_levene_around_the_median():
    rng = np.random.default_rng(0)
    a, b = rng.normal(95, 0.3, 6), rng.normal(94, 2.5, 6)
    ca, cb = compare_spread({"a": Outcomes(tuple(a)), "b": Outcomes(tuple(b))})
    # with two orders "against the rest" is Brown-Forsythe itself
    assert cb.p_spread == pytest.approx(stats.levene(a, b, center="median").pvalue)
    assert cb.less_reliable and not ca.less_reliable and cb.sd > ca.sd


def test_failures_count_collapsed_runs():
    good = Outcomes((98.0, 98.2, 97.9, 98.1, 98.3, 98.0, 98.2, 98.1, 98.0, 98.2))
    bad = Outcomes((98.0, 98.1, 98.2, 98.0 - COLLAPSE_POINTS - 1, 98.1, 98.0), not_finished=5)
    assert bad.bad == 6 and bad.total == 11 and good.bad == 0
    c_good, c_bad = compare_spread({"good": good, "bad": bad})
    assert c_bad.p_failures == pytest.approx(stats.fisher_exact([[6, 5], [0, 10]]).pvalue)
    assert c_bad.less_reliable and not c_good.less_reliable


def test_an_order_collapsing_on_most_seeds_is_less_reliable():
    fine = {k: Outcomes((95.0, 95.3, 94.8, 95.1, 95.2)) for k in ("a", "b", "c")}
    fine["mostly-collapsed"] = Outcomes((95.0, 95.2, 60.0, 61.0, 59.0))
    flagged = {c.label: c for c in compare_spread(fine)}["mostly-collapsed"]
    assert flagged.bad == 3 and flagged.less_reliable


def test_the_measured_resnet_spread_is_called_less_reliable():
    """MNIST-1D ResNet-56, 5 seeds: one unit at 91.4 +- 4.0 against 98.1-98.7 +- 0.2-0.5."""
    units = {
        "original": (98.5, 98.9, 98.2, 98.8, 98.6),
        "bn-after-add": (98.0, 98.3, 97.7, 98.4, 98.1),
        "relu-before-add": (91.0, 96.5, 85.9, 93.4, 90.2),
        "relu-only-preact": (98.3, 98.6, 98.9, 98.5, 98.7),
        "full-preact": (98.6, 98.9, 98.4, 98.7, 98.8),
    }
    runs = [
        _run(i * 10 + s, label, 0.01, s, "done", acc)
        for i, (label, accs) in enumerate(units.items())
        for s, acc in enumerate(accs)
    ]
    analysis = analyze(runs)
    assert "relu-before-add trains less reliably than the other orders: SD 3.9" in (
        analysis.verdict.text
    )
    assert [c.label for c in analysis.reliability if c.less_reliable] == ["relu-before-add"]


def test_two_runs_per_order_give_no_spread_verdict():
    # two values have identical deviations from their median: Brown-Forsythe would divide by a
    # zero within-group variance and call any difference in spread significant
    from layerorder.stats.reliability import Outcomes, compare_spread

    outcomes = {
        "a": Outcomes((90.0, 94.0)),
        "b": Outcomes((95.0, 95.2)),
        "c": Outcomes((95.1, 95.3)),
    }
    assert not any(r.less_reliable for r in compare_spread(outcomes))
