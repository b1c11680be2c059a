"""Learning-rate robustness: "BN allows larger learning rates", measured.

For each order, the mean accuracy at every learning rate of a sweep, and the largest
learning rate at which the order still trains: no diverged run and a mean within
``tolerance`` points of its best mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerorder.stats.exact import SignTest, sign_test

NAN = float("nan")


@dataclass(frozen=True)
class LrPoint:
    """One order at one learning rate: ``mean`` over the ``n`` runs that did not diverge
    (nan when all diverged); ``n + n_diverged`` runs in all."""

    label: str
    lr: float
    mean: float
    n: int
    n_diverged: int


@dataclass(frozen=True)
class LrRobustness:
    """An order over a learning-rate sweep; ``points`` are sorted by ascending lr.

    ``best_lr``/``best_mean``: the lr with the highest mean (ties: the smaller lr;
    nan when every run diverged). ``max_stable_lr``: the largest lr with no diverged
    run and a mean within the tolerance of ``best_mean`` (None if there is none).
    """

    label: str
    best_lr: float
    best_mean: float
    max_stable_lr: float | None
    points: tuple[LrPoint, ...]


def _is_diverged(value: float | None) -> bool:
    return value is None or not math.isfinite(float(value))


def lr_point(label: str, lr: float, values: Sequence[float | None]) -> LrPoint:
    """Summarise the seeds of one (order, lr); None or nan/inf marks a diverged run."""
    finished = [float(v) for v in values if not _is_diverged(v)]
    mean = float(np.mean(finished)) if finished else NAN
    return LrPoint(label, float(lr), mean, len(finished), len(values) - len(finished))


def _robustness(label: str, points: tuple[LrPoint, ...], tolerance: float,
                sign: float = 1.0) -> LrRobustness:
    trained = [p for p in points if p.n > 0]
    if not trained:
        return LrRobustness(label, NAN, NAN, None, points)
    best = max(trained, key=lambda p: sign * p.mean)  # max keeps the first (smallest lr) on ties
    stable = [p.lr for p in trained
              if p.n_diverged == 0 and sign * p.mean >= sign * best.mean - tolerance]
    return LrRobustness(label, best.lr, best.mean, max(stable) if stable else None, points)


def lr_robustness(
    results: Mapping[str, Mapping[float, Sequence[float | None]]],
    *,
    tolerance: float = 1.0,
    higher_is_better: bool = True,
) -> list[LrRobustness]:
    """One ``LrRobustness`` per order of ``results[label][lr] = per-seed accuracies``
    (percent; None for a diverged run), in the insertion order of the labels. For a metric where
    lower is better (``higher_is_better=False``) the best lr has the lowest mean, and the
    tolerance is counted upwards from it."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    out = []
    for label, sweep in results.items():
        points = tuple(sorted((lr_point(label, lr, v) for lr, v in sweep.items()), key=_lr_of))
        out.append(_robustness(label, points, tolerance, 1.0 if higher_is_better else -1.0))
    return out


def fair_best(means: Mapping[Any, float], lost: Mapping[Any, bool], gain: Callable[[float], float],
              order: Callable[[Any], Any] = lambda k: k) -> Any:
    """The level (a learning rate, or any factor's level) with the best mean, ``gain`` turning a
    mean into 'larger is better'. A level that lost runs (diverged or failed) is no fair best,
    its mean covering the survivors only: such levels count only when every level lost some.
    Ties go to the first level in ``order``; None when no mean is finite."""
    finite = sorted((k for k, v in means.items() if math.isfinite(v)), key=order)
    clean = [k for k in finite if not lost.get(k, False)] or finite
    return max(clean, key=lambda k: gain(means[k])) if clean else None


def _lr_of(point: LrPoint) -> float:
    return point.lr


def seed_limits(sweep: Mapping[float, Mapping[int, float | None]], floor: float,
                tolerance: float = 1.0) -> dict[int, float]:
    """Each seed's own largest stable learning rate, in log2: the largest lr whose run did not
    diverge and ended within ``tolerance`` points of that seed's best accuracy over the sweep
    (``floor`` when none did; a seed missing at some lr is read where it ran)."""
    seeds = sorted({s for cell in sweep.values() for s in cell})
    out = {}
    for seed in seeds:
        runs = {lr: cell[seed] for lr, cell in sweep.items() if seed in cell}
        trained = {lr: v for lr, v in runs.items() if not _is_diverged(v)}
        if not trained:
            out[seed] = floor
            continue
        best = max(trained.values())
        stable = [lr for lr, v in trained.items() if v >= best - tolerance]
        out[seed] = math.log2(max(stable))
    return out


@dataclass(frozen=True)
class StableLrDifference:
    """How much larger ``a``'s largest stable learning rate is than ``b``'s, in steps of log2
    (1.0: twice as large; an order stable nowhere counts one grid step below the sweep), with a
    percentile bootstrap interval over seeds and the bootstrap shares of resamples in which
    a's is larger and smaller. A tie on the grid leaves the interval across zero."""

    a: str
    b: str
    diff: float
    low: float
    high: float
    share_greater: float
    share_less: float
    level: float
    n_boot: int
    sign: SignTest | None = None  # each seed's own limit, a against b (``seed_limits``)

    def exact_p(self, alternative: str) -> float:
        """The exact sign test over seeds of each seed's own limit (a - b), one-sided:
        'greater' or 'less'. Unlike the bootstrap's, its smallest p is set by the seeds
        (1/2^n), not by the number of resamples."""
        from scipy import stats

        s = self.sign
        if s is None or s.above + s.below == 0:
            return 1.0
        k = s.above if alternative == "greater" else s.below
        return float(stats.binomtest(k, s.above + s.below, 0.5, alternative="greater").pvalue)

    def p_greater(self) -> float:
        """Bootstrap p for 'a is larger': the share of resamples where it is not, counted as
        (k + 1) / (B + 1) so that B resamples never give a p below 1 / (B + 1)."""
        return (round((1 - self.share_greater) * self.n_boot) + 1) / (self.n_boot + 1)

    def p_less(self) -> float:
        """Bootstrap p for 'a is smaller', bounded below as ``p_greater``."""
        return (round((1 - self.share_less) * self.n_boot) + 1) / (self.n_boot + 1)


def _log2_stable(sweep: Mapping[float, Sequence[float | None]], floor: float,
                 tolerance: float) -> float:
    r = _robustness("", tuple(lr_point("", lr, v) for lr, v in sorted(sweep.items())), tolerance)
    return math.log2(r.max_stable_lr) if r.max_stable_lr is not None else floor


def stable_lr_difference(
    a: str,
    b: str,
    sweeps: Mapping[str, Mapping[float, Mapping[int, float | None]]],
    *,
    level: float = 0.90,
    n_boot: int = 2000,
    tolerance: float = 1.0,
    seed: int = 0,
) -> StableLrDifference:
    """``sweeps[label][lr][seed]`` = final accuracy (None: diverged). Seeds are resampled with
    replacement, the same draw for every order and learning rate (a seed's runs stay together);
    the generator is local, so no global random state changes."""
    lrs = sorted({lr for s in sweeps.values() for lr in s})
    floor = math.log2(lrs[0]) - math.log2(lrs[1] / lrs[0]) if len(lrs) > 1 else 0.0
    seeds = sorted({s for sw in sweeps.values() for cell in sw.values() for s in cell})

    def diff(draw: Sequence[int]) -> float:
        out = []
        for label in (a, b):
            sweep = {lr: [cell[s] for s in draw if s in cell] for lr, cell in sweeps[label].items()}
            out.append(_log2_stable({lr: v for lr, v in sweep.items() if v}, floor, tolerance))
        return out[0] - out[1]

    observed = diff(seeds)
    rng = np.random.default_rng(seed)
    boots = np.array([diff(rng.choice(seeds, size=len(seeds))) for _ in range(n_boot)])
    tail = (1 - level) / 2
    low, high = (float(np.quantile(boots, q)) for q in (tail, 1 - tail))
    la, lb = (seed_limits(sweeps[label], floor, tolerance) for label in (a, b))
    paired = sorted(set(la) & set(lb))
    sign = sign_test([la[s] - lb[s] for s in paired], "two-sided")
    return StableLrDifference(a, b, observed, low, high, float(np.mean(boots > 0)),
                              float(np.mean(boots < 0)), level, n_boot, sign)
