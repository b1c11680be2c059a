"""Speed (epochs to a target accuracy) as its own statistic, against scipy's binomial test and
statsmodels' Holm; a slower but stable order is slower, never less reliable."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from layerorder.stats.analysis import analyze
from layerorder.stats.speed import NEVER, compare_speed, epochs_to
from layerorder.store import EpochRecord
from tests.studies.helpers import run


def test_epochs_to_target_is_the_first_epoch_at_or_above_it():
    assert epochs_to([50.0, 80.0, 90.0, 91.0], 90.0) == 3
    assert epochs_to([50.0, None, 95.0], 90.0) == 3
    assert epochs_to([50.0, 60.0], 90.0) == NEVER


def _curve(final: float, epochs_to_final: int, n: int = 10) -> list[float]:
    """Accuracy rising linearly from 10 % to ``final`` at ``epochs_to_final``, then flat."""
    return [10.0 + (final - 10.0) * min(1.0, e / epochs_to_final) for e in range(1, n + 1)]


def test_speed_pairs_are_sign_tests_with_holm_over_the_family():
    rng = np.random.default_rng(0)
    curves = {
        "fast": {s: _curve(95 + rng.normal(0, 0.2), 3) for s in range(12)},
        "slow": {s: _curve(95 + rng.normal(0, 0.2), 7 if s < 11 else 2) for s in range(12)},
        "same": {s: _curve(95 + rng.normal(0, 0.2), 3) for s in range(12)},
    }
    family = [("fast", "slow"), ("fast", "same"), ("slow", "same")]
    speed = compare_speed(curves, family)
    finals = {k: [c[-1] for c in v.values()] for k, v in curves.items()}
    assert speed.target == pytest.approx(min(min(v) for v in finals.values()))
    by = {(p.a, p.b): p for p in speed.pairs}
    fs = by[("fast", "slow")]
    assert (fs.a_first, fs.b_first) == (11, 1)
    assert fs.p == pytest.approx(stats.binomtest(11, 12, 0.5).pvalue)
    raw = [p.p for p in speed.pairs]
    assert [p.p_holm for p in speed.pairs] == pytest.approx(
        list(multipletests(raw, method="holm")[1]))
    medians = {o.label: o.median_epochs for o in speed.orders}
    assert medians["slow"] > medians["fast"]
    assert fs.faster(0.05) == "fast" and fs.p_holm < 0.05  # 11 of 12, Holm over 3 pairs
    assert by[("fast", "same")].faster(0.05) is None  # every seed ties
    assert speed.text().startswith("median epochs to reach") and "slow" in speed.text()


def test_epochs_to_reads_epoch_numbers_when_given():
    assert epochs_to([50.0, 95.0], 90.0, epochs=[2, 5]) == 5


def test_a_collapsed_run_does_not_set_the_target_and_a_median_at_half_is_reached():
    """Two of a's four runs collapse at 60 %: the target stays at the others' level (95 %), so
    those two never reach it, and a's median is the lower middle run, one that got there."""
    curves = {"a": {0: [80.0, 95.0], 1: [80.0, 95.0], 2: [50.0, 60.0], 3: [50.0, 60.0]},
              "b": {0: [95.0, 96.0], 1: [96.0, 96.0], 2: [80.0, 97.0], 3: [95.0, 95.5]}}
    speed = compare_speed(curves, [("a", "b")])
    assert speed.target == 95.0
    medians = {o.label: (o.median_epochs, o.reached) for o in speed.orders}
    assert medians == {"a": (2.0, 2), "b": (1.0, 4)}


def test_a_run_that_never_reaches_the_target_is_slower_and_two_such_runs_tie():
    curves = {"a": {0: [90.0, 95.0], 1: [50.0, 60.0], 2: [95.0, 95.0]},
              "b": {0: [50.0, 60.0], 1: [50.0, 60.0], 2: [95.0, 95.0]}}
    speed = compare_speed(curves, [("a", "b")])
    (p,) = speed.pairs
    assert (p.a_first, p.b_first, p.ties) == (1, 0, 2)


def test_slower_but_stable_is_slower_in_compares_analysis_never_less_reliable():
    """Planted runs: 'slow' reaches the same final accuracy as 'quick' with the same spread, but
    needs 8 epochs where 'quick' needs 2. The analysis's speed line says so; reliability does
    not call it less reliable."""
    rng = np.random.default_rng(1)
    runs, epochs, i = [], {}, 0
    for seed in range(8):
        for label, needs in (("quick", 2), ("slow", 8)):
            i += 1
            curve = _curve(95.0 + rng.normal(0, 0.3), needs)
            runs.append(run(i, label, seed, curve[-1]))
            epochs[i] = tuple(EpochRecord(e, 0.1, a, 0.1, a, 0.01, 1.0)
                              for e, a in enumerate(curve, start=1))
    a = analyze(tuple(runs), epochs=epochs, chance=10.0)
    assert not any(r.less_reliable for r in a.reliability)
    (speed,) = a.speed
    (pair,) = speed.pairs
    assert pair.faster(0.05) == "quick" and pair.p == pytest.approx(2 / 2 ** 8)
    assert {o.label: o.median_epochs for o in speed.orders}["slow"] > 2
    # without epochs there is no speed to read, and nothing else changes
    plain = analyze(tuple(runs), chance=10.0)
    assert plain.speed == () and plain.verdict == a.verdict


def test_an_order_whose_runs_all_failed_is_left_out_of_speed():
    curves = {"a": {0: [90.0, 95.0], 1: [80.0, 95.0]}, "b": {0: [95.0, 95.0], 1: [95.0, 95.0]},
              "gone": {}}
    speed = compare_speed(curves, [("a", "b"), ("a", "gone"), ("b", "gone")])
    assert [o.label for o in speed.orders] == ["a", "b"]
    assert [(p.a, p.b) for p in speed.pairs] == [("a", "b")]
    assert compare_speed({"a": curves["a"], "gone": {}}, [("a", "gone")]) is None


def test_an_order_that_mostly_failed_has_no_speed_in_the_analysis():
    runs, epochs, i = [], {}, 0
    for seed in range(4):
        for label, final in (("ok", 95.0), ("bad", 95.0 if seed == 0 else 10.0)):
            i += 1
            curve = _curve(final, 2, n=4)
            runs.append(run(i, label, seed, curve[-1]))
            epochs[i] = tuple(EpochRecord(e, 0.1, a, 0.1, a, 0.01, 1.0)
                              for e, a in enumerate(curve, start=1))
    a = analyze(tuple(runs), epochs=epochs, chance=10.0)
    assert a.speed == ()  # 'bad' trained on 1 of 4 seeds: only 'ok' is left, nothing to pair
