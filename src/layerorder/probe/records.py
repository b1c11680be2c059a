"""The records the probes make, torch-free: one frozen record per stage (``StageStats``), weight
layer (``GradFlow``) and BN layer (``VarianceShift``), and two per run (``Fit``,
``Recalibration``).
``layerorder.probe.accumulate``, ``grads`` and ``variance`` measure them; ``stored`` writes and
reads them; a study's claims read them without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_RANGE = (-6.0, 6.0)  # the signed histogram's range, in units of the stage's output


@dataclass(frozen=True)
class StageStats:
    """Signed distribution of one stage's output over everything recorded."""

    name: str  # module path, e.g. features.0.norm
    kind: str  # module class name, e.g. BatchNorm1d
    count: int
    mean: float
    std: float
    skewness: float
    kurtosis: float  # excess kurtosis (0 for a normal distribution)
    frac_negative: float
    frac_zero: float
    frac_positive: float
    min: float
    max: float
    hist: tuple[int, ...]  # counts over the shared signed bins (tails fall into the end bins)
    units: int  # channels (dim 1), or features of a (N, C) output
    dead_units: int  # units never positive over everything recorded
    hist_range: tuple[float, float] = DEFAULT_RANGE  # the histogram's (low, high); equal bins
    # median over units of each unit's own skewness (nan: no unit varies, or stored before it
    # was kept). Unlike ``skewness`` it does not mix channels of different means: BN, an affine
    # map per channel, leaves it unchanged (in eval mode exactly)
    unit_skewness: float = math.nan


@dataclass(frozen=True)
class GradFlow:
    name: str
    kind: str
    grad_norm: float
    weight_norm: float
    ratio: float  # grad_norm / weight_norm
    status: str  # ok, vanishing or exploding


@dataclass(frozen=True)
class VarianceShift:
    name: str
    running_var: float  # mean over channels of BN's running variance (what training saw)
    eval_var: float  # mean over channels of the input variance in eval mode
    shift: float  # mean over channels of max(eval/running, running/eval)
    flagged: bool  # shift above the threshold
    # mean over the same channels of c^2 / v, the eval-mode input's squared mean over its
    # variance (nan in records stored before it was kept)
    mean_sq_ratio: float = math.nan

    def predicted_shift(self, q: float) -> float:
        """Li et al.'s train/test variance ratio for dropout with retain ratio ``q`` right before
        this BN: 1/q + (c^2/v)(1/q - 1), averaged over channels (linear in c^2/v)."""
        return 1.0 / q + self.mean_sq_ratio * (1.0 / q - 1.0)


@dataclass(frozen=True)
class Recalibration:
    """Test accuracy of a trained model before and after ``recalibrate_bn`` (BN statistics
    re-estimated with dropout off): how much of a dropout-induced variance shift costs."""

    name: str  # "model"
    bn_layers: int
    test_acc: float
    recalibrated_acc: float


@dataclass(frozen=True)
class Fit:
    """A trained model's accuracy in eval mode on a fixed sample of its training set and on the
    test set, and the gap between them in points: the generalisation gap of the trained weights
    (with BN's running statistics), free of what the running training accuracy of the last epoch
    carries (BN's batch statistics, dropout's masks, weights that moved during the epoch)."""

    name: str  # "model"
    samples: int  # training samples evaluated (``probe.training.FIT_SAMPLE`` at most)
    train_acc: float
    test_acc: float
    gap: float  # train_acc - test_acc
