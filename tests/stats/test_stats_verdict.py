"""make_verdict(): best order, significance after Holm, power numbers and the text."""

import math

import numpy as np
import pytest

from layerorder.stats import (
    OrderSummary,
    compare_pairs,
    make_verdict,
    min_detectable_difference,
    seeds_needed,
    summarize,
)
from layerorder.stats.text import format_p


def _verdict(results, **kwargs):
    summaries = [
        summarize(
            label,
            [v for v in runs.values() if v is not None],
            n_diverged=sum(v is None for v in runs.values()),
        )
        for label, runs in results.items()
    ]
    return make_verdict(summaries, compare_pairs(results), **kwargs)


def _noisy(mean, sd, seed, n=5):
    rng = np.random.default_rng(seed)
    return dict(enumerate(mean + rng.normal(0.0, sd, n)))


def test_order_compared_with_itself_is_no_difference():
    runs = _noisy(97.0, 0.4, 1)
    verdict = _verdict({"conv-bn-relu": runs, "conv-bn-relu-again": dict(runs)})
    assert verdict.best == "conv-bn-relu"  # tie -> first
    assert verdict.significant_over == ()
    assert verdict.not_significant_over == ("conv-bn-relu-again",)
    assert "no significant difference between the orders" in verdict.text


def test_clearly_better_order_is_significant():
    base = _noisy(94.0, 0.5, 2)
    results = {
        "conv-relu": base,
        "conv-bn-relu": {s: v + 3.0 + 0.1 * (-1) ** s for s, v in base.items()},
        "conv-relu-bn": {s: v + 2.9 + 0.3 * math.sin(s) for s, v in base.items()},
    }
    verdict = _verdict(results)
    assert verdict.best == "conv-bn-relu"
    assert verdict.significant_over == ("conv-relu",)
    assert verdict.not_significant_over == ("conv-relu-bn",)
    assert "significantly better than conv-relu (+3.0 points, Holm p" in verdict.text
    assert "No significant difference (Holm p >= 0.05) from conv-relu-bn" in verdict.text
    assert "no significant difference between the orders" not in verdict.text
    assert verdict.alpha == 0.05


def test_power_numbers_use_the_median_sd_of_best_pairs():
    results = {
        "best": _noisy(98.0, 0.5, 3),
        "b": _noisy(96.9, 0.5, 4),
        "c": _noisy(96.8, 0.5, 5),
        "d": _noisy(96.9, 0.5, 6),
    }
    pairs = compare_pairs(results)
    sd = float(np.median([p.sd_diff for p in pairs if p.a == "best"]))
    summaries = [summarize(k, list(v.values())) for k, v in results.items()]
    verdict = make_verdict(summaries, pairs)
    assert verdict.best == "best"
    assert verdict.min_detectable == pytest.approx(min_detectable_difference(sd, 5))
    assert verdict.seeds_needed_for_half_point == seeds_needed(sd, 0.5)
    assert "with 5 seeds the smallest difference" in verdict.text.lower()
    assert f"{verdict.min_detectable:.1f} points" in verdict.text
    assert f"about {verdict.seeds_needed_for_half_point} seeds per order" in verdict.text


def test_diverged_runs_are_reported():
    results = {"conv-bn-relu": _noisy(97.0, 0.3, 7), "conv-relu": _noisy(90.0, 0.3, 8)}
    results["conv-relu"][2] = None
    verdict = _verdict(results)
    assert "1 of 5 runs of conv-relu diverged" in verdict.text


def test_single_order():
    verdict = _verdict({"conv-bn-relu": _noisy(97.0, 0.3, 9)})
    assert verdict.best == "conv-bn-relu" and verdict.significant_over == ()
    assert "nothing to compare" in verdict.text
    assert math.isnan(verdict.min_detectable) and verdict.seeds_needed_for_half_point is None


def test_single_seed_says_two_are_needed():
    verdict = _verdict({"a": {0: 91.0}, "b": {0: 92.0}})
    assert verdict.best == "b" and verdict.not_significant_over == ("a",)
    assert "at least 2 seeds" in verdict.text
    assert math.isnan(verdict.min_detectable)


def test_no_finished_run_and_no_input():
    summary = OrderSummary("a", 0, *(float("nan"),) * 5, n_diverged=3, n_failed=0)
    verdict = make_verdict([summary], [])
    assert verdict.best == "" and "no order has a finished run" in verdict.text.lower()
    with pytest.raises(ValueError):
        make_verdict([], [])


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0004, "< 0.001"),
        (0.001234, "= 0.00123"),
        (0.6071, "= 0.607"),
        (1.0, "= 1"),
        (0.049996, "= 0.049996"),
    ],
)
def test_format_p(p, text):
    assert format_p(p) == text


def test_paired_test_disagreeing_with_the_means_is_flagged():
    # b beats a on the 4 common seeds, but a has a higher mean over all its finished runs
    results = {
        "a": {0: 90.0, 1: 91.0, 2: 90.5, 3: 91.5, 4: 99.9},
        "b": {0: 91.0, 1: 92.1, 2: 91.4, 3: 92.6},
    }
    summaries = [summarize(label, list(runs.values())) for label, runs in results.items()]
    verdict = make_verdict(summaries, compare_pairs(results))
    assert verdict.best == "a" and verdict.significant_over == ()
    assert verdict.not_significant_over == ("b",)
    assert "disagrees with the means" in verdict.text
