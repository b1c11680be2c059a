"""Group-sequential testing: seeds added in rounds, the false-positive rate held over every look.

``--until-decided`` looks at the results after each round of seeds and stops once every pair is
decided. Testing at level alpha at each look would inflate the false-positive rate (five looks at
0.05 give about 0.14). The design here is the Lan-DeMets alpha-spending function of O'Brien-
Fleming type, ``alpha(t) = 2 - 2 * Phi(z_{1-alpha/2} / sqrt(t))`` at information fraction ``t``
(seeds so far / the most seeds allowed). It was chosen over Pocock-type spending because it
spends almost nothing at the first looks, where a t-test on 3-5 seeds is least trustworthy, and
keeps the last look's level close to alpha, so that a sequential sweep that runs to its budget
reaches nearly the same decisions as a fixed design of that many seeds; and over anytime-valid
confidence sequences because those give up much more power at the seed counts a CPU can afford.

The boundaries are those of the standardised statistics ``Z_1..Z_K`` of a sum with independent
increments, ``corr(Z_i, Z_j) = sqrt(t_i / t_j)``: ``c_k`` solves
``P(|Z_1| < c_1, ..., |Z_k| < c_k) = 1 - alpha(t_k)``. They are computed by recursive
numerical integration (see ``boundaries``). Each look then
compares the exact t-test's p-value with the boundary's nominal level ``2 * (1 - Phi(c_k))`` (one
side: ``1 - Phi(c_k)``), the usual way to apply a normal-theory design to t statistics; the
simulation test in ``tests/stats/test_sequential.py`` measures the false-positive rate this gives.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


def spent(alpha: float, t: float) -> float:
    """Alpha spent up to information fraction ``t`` (O'Brien-Fleming-type, Lan-DeMets)."""
    if t <= 0.0:
        return 0.0
    if t >= 1.0:
        return alpha
    # the upper tail directly: 2 - 2 * cdf rounds to 0 far out (a small alpha at an early look)
    return float(2.0 * stats.norm.sf(stats.norm.isf(alpha / 2.0) / math.sqrt(t)))


def _simpson_weights(n: int, width: float) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return w * width / (3.0 * (n - 1))


@functools.lru_cache(maxsize=512)
def boundaries(alpha: float, fractions: tuple[float, ...], sides: int = 2) -> tuple[float, ...]:
    """Critical values ``c_k`` of the standardised statistic at each look (``sides`` 2: reject
    when ``|Z_k| >= c_k``; 1: when ``Z_k >= c_k``).

    Computed by the recursive numerical integration of Armitage, McPherson and Rowe (1969) on the
    score ``S_k = Z_k sqrt(t_k)``, whose increments are independent normals of variance
    ``t_k - t_(k-1)``: the density of ``S`` on the region not yet rejected is carried from look
    to look on a Simpson grid, and ``c_k`` is the root (``brentq``) of "probability of rejecting
    first at look k = alpha spent between looks k-1 and k". Written here because neither scipy
    nor statsmodels has group-sequential designs; scipy's multivariate normal CDF gives the
    same values (checked in the tests) but about a hundred times slower at this precision.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if sides not in (1, 2):
        raise ValueError(f"sides must be 1 or 2, got {sides}")
    t = np.asarray(fractions, dtype=float)
    if t.size == 0 or np.any(np.diff(t) <= 0) or t[0] <= 0 or t[-1] > 1:
        raise ValueError(f"fractions must increase within (0, 1], got {fractions}")
    norm = stats.norm
    c = [min(Z_MAX, float(norm.isf(spent(alpha, float(t[0])) / sides)))]
    grid = density = None
    for k in range(1, t.size):
        # the density of S at look k-1 on its continuation region
        hi = c[-1] * math.sqrt(t[k - 1])
        lo = -hi if sides == 2 else -10.0 * math.sqrt(t[k - 1])
        if grid is None:
            grid = np.linspace(lo, min(hi, 10.0 * math.sqrt(t[0])), _POINTS)
            density = norm.pdf(grid, scale=math.sqrt(t[0]))
        else:
            new = np.linspace(lo, min(hi, 10.0 * math.sqrt(t[k - 1])), _POINTS)
            step = math.sqrt(t[k - 1] - t[k - 2])
            weights = _simpson_weights(grid.size, grid[-1] - grid[0]) * density
            density = norm.pdf((new[:, None] - grid[None, :]) / step) @ weights / step
            grid = new
        weights = _simpson_weights(grid.size, grid[-1] - grid[0]) * density
        step = math.sqrt(t[k] - t[k - 1])
        target = spent(alpha, float(t[k])) - spent(alpha, float(t[k - 1]))
        if target < 1e-15:  # nothing to spend here: a boundary that is never crossed
            c.append(Z_MAX)
            continue

        def first_rejection(ck: float, k=k, step=step, weights=weights, grid=grid) -> float:
            edge = ck * math.sqrt(t[k])
            p = norm.sf((edge - grid) / step)
            if sides == 2:
                p = p + norm.cdf((-edge - grid) / step)
            return float(p @ weights)

        c.append(min(Z_MAX, float(optimize.brentq(
            lambda x, target=target: first_rejection(x) - target, 0.0, 40.0, xtol=1e-8))))
    return tuple(c)


_POINTS = 1201  # Simpson grid points per look (odd); boundaries to about 1e-5
Z_MAX = 10.0  # a boundary no statistic crosses (tail 8e-24): caps what rounds to infinity


@functools.lru_cache(maxsize=512)
def nominal_levels(alpha: float, fractions: tuple[float, ...], sides: int = 2) -> tuple[float, ...]:
    """The p-value each look must fall below: ``sides * (1 - Phi(c_k))``."""
    return tuple(float(sides * stats.norm.sf(c)) for c in boundaries(alpha, fractions, sides))


def look_schedule(first: int, most: int) -> tuple[int, ...]:
    """Seeds per order at each look: ``first``, then rounds of ``first`` more, ending at ``most``
    (5 and 20 give 5, 10, 15, 20)."""
    if first < 2:
        raise ValueError(f"the first round needs at least 2 seeds, got {first}")
    if most < first:
        raise ValueError(f"max seeds ({most}) must be at least the first round's ({first})")
    looks = list(range(first, most + 1, first))
    if looks[-1] != most:
        looks.append(most)
    return tuple(looks)


@dataclass(frozen=True)
class Design:
    """When the results are looked at: ``looks`` are seeds per order at each look. A fixed
    design is one look at every seed (its nominal level is alpha itself)."""

    looks: tuple[int, ...] = ()

    @property
    def sequential(self) -> bool:
        return len(self.looks) > 1

    def fractions(self) -> tuple[float, ...]:
        return tuple(n / self.looks[-1] for n in self.looks)

    def level(self, alpha: float, look: int, sides: int = 2) -> float:
        """Nominal level at look index ``look`` for a test of overall level ``alpha``."""
        if not self.sequential:
            return alpha
        return nominal_levels(alpha, self.fractions(), sides)[look]

    def looks_within(self, n_seeds: int) -> tuple[int, ...]:
        """The looks reached with ``n_seeds`` seeds (a fixed design: one look at all of them)."""
        if not self.sequential:
            return (n_seeds,)
        return tuple(n for n in self.looks if n <= n_seeds)
