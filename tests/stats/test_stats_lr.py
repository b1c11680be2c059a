"""lr_robustness() on a hand-made sweep: BN stays stable at lr=1.0, no-norm diverges."""

import math

import pytest

from layerorder.stats import LrPoint, lr_robustness
from layerorder.stats.lr import fair_best

SWEEP = {
    "conv-bn-relu": {
        1.0: [96.8, 97.0, 96.6],
        0.01: [95.0, 95.4, 95.2],
        0.1: [97.4, 97.6, 97.5],
    },
    "conv-relu": {
        0.01: [94.0, 94.4, 94.2],
        0.1: [95.0, None, 95.2],
        1.0: [None, None, None],
    },
}


def test_bn_stays_stable_where_no_norm_diverges():
    bn, plain = lr_robustness(SWEEP)
    assert (bn.label, bn.best_lr, bn.max_stable_lr) == ("conv-bn-relu", 0.1, 1.0)
    assert bn.best_mean == pytest.approx(97.5)
    assert (plain.best_lr, plain.max_stable_lr) == (0.1, 0.01)
    assert plain.best_mean == pytest.approx(95.1)
    assert [p.lr for p in bn.points] == [0.01, 0.1, 1.0]
    assert plain.points[1] == LrPoint("conv-relu", 0.1, pytest.approx(95.1), 2, 1)
    last = plain.points[2]
    assert (last.n, last.n_diverged) == (0, 3) and math.isnan(last.mean)


def test_tolerance_decides_what_counts_as_still_training():
    bn, plain = lr_robustness(SWEEP, tolerance=0.5)
    assert bn.max_stable_lr == 0.1  # 96.8 at lr=1.0 is 0.7 below the best
    assert plain.max_stable_lr is None  # 0.01 is 0.9 below the best, and 0.1 diverged once
    assert lr_robustness(SWEEP, tolerance=0.0)[0].max_stable_lr == 0.1


def test_everything_diverged():
    (r,) = lr_robustness({"x": {0.1: [None, float("nan")]}})
    assert math.isnan(r.best_lr) and math.isnan(r.best_mean) and r.max_stable_lr is None


def _sweeps(limit_a: float, limit_b: float, seeds: int = 8):
    """Two orders over lrs 0.1..1.6; each trains (90 %) up to its limit and diverges above."""
    lrs = (0.1, 0.2, 0.4, 0.8, 1.6)
    return {
        label: {lr: {s: (90.0 + 0.01 * s if lr <= limit else None) for s in range(seeds)}
                for lr in lrs}
        for label, limit in (("a", limit_a), ("b", limit_b))
    }


def test_stable_lr_difference_reads_log2_steps_and_a_bounded_bootstrap_p():
    from layerorder.stats.lr import stable_lr_difference

    boot = stable_lr_difference("a", "b", _sweeps(0.8, 0.2), n_boot=500)
    assert boot.diff == pytest.approx(2.0) and boot.low == boot.high == pytest.approx(2.0)
    assert boot.share_greater == 1.0
    # every resample agrees, yet B resamples cannot show a p below 1 / (B + 1)
    assert boot.p_greater() == pytest.approx(1 / 501)
    assert boot.p_less() == pytest.approx(1.0)
    tie = stable_lr_difference("a", "b", _sweeps(0.4, 0.4), n_boot=200)
    assert tie.diff == 0 and tie.p_greater() == pytest.approx(1.0)


def test_fair_best_passes_over_levels_that_lost_runs_unless_all_did():
    """The comparison's choice of an order's best learning rate, and a claim's 'best' level."""
    gain = float  # larger is better
    assert fair_best({1: 80.0, 2: 90.0}, {2: True}, gain) == 1
    assert fair_best({1: 80.0, 2: 90.0}, {1: True, 2: True}, gain) == 2
    assert fair_best({1: 80.0, 2: 80.0}, {}, gain) == 1
    assert fair_best({1: 1.0, 2: 0.5}, {}, lambda v: -v) == 2  # a loss: lower is better
    assert fair_best({1: float("nan")}, {}, gain) is None
