"""Claim tests: what a claim measures, and how the measurement becomes a verdict.

Every test is a frozen record parsed from a claim's TOML keys and registered in ``TESTS`` by its
``kind``; ``evaluate(evidence, alpha)`` returns a ``Verdict``:

- ``supported``: the data reject the claim's negation at level alpha (one-sided 5 %: the 90 %
  interval lies on the claim's side of its threshold, or inside its band);
- ``contradicted``: the data reject the claim itself the same way (the interval lies wholly on
  the other side; or a pair the claim calls different is equivalent within the margin);
- ``undecided``: neither, with what would decide it (about how many seeds, or which scale).

Each verdict carries ``p``, the one-sided p-value of the test it rests on (for an undecided one,
the smaller of the two directions), so that a family of primary claims can be corrected together
(``studies.multiplicity``). Where the scale does not meet the regime the claim's source measured
in, ``studies.regime.in_regime`` turns supported into *agrees outside regime* and contradicted or
undecided into *not reproduced*.

Probe claims are in ``studies.probe_claims``, accuracy claims in ``studies.accuracy_claims``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from layerorder.studies.regime import RegimeMatch

OUTCOMES = ("supported", "contradicted", "undecided", "agrees outside regime", "not reproduced")
LEVEL = 0.90  # two-sided interval whose ends are one-sided tests at 5 %


@dataclass(frozen=True)
class Estimate:
    """A quantity over seeds: per-seed values, mean and 90 % t interval (nan when fewer than
    two values). Figures draw these."""

    label: str
    values: tuple[float, ...]
    mean: float
    low: float
    high: float

    @property
    def n(self) -> int:
        return len(self.values)


def estimate(label: str, values: Sequence[float], level: float = LEVEL) -> Estimate:
    from scipy import stats

    v = np.asarray([x for x in values if math.isfinite(x)], dtype=float)
    if len(v) == 0:
        return Estimate(label, (), math.nan, math.nan, math.nan)
    mean = float(v.mean())
    if len(v) < 2:
        return Estimate(label, tuple(v.tolist()), mean, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return Estimate(label, tuple(v.tolist()), mean, mean - half, mean + half)


@dataclass(frozen=True)
class Verdict:
    """A claim's outcome, the numbers behind it in words, and what would decide it."""

    outcome: str
    evidence: str
    decide: str = ""
    estimates: tuple[Estimate, ...] = ()
    reference: tuple[float, float] | None = None  # the claim's band (or line: low == high)
    axis: str = ""  # what the estimates measure
    p: float = math.nan  # one-sided p of the deciding test (undecided: the smaller direction)
    decided_by: str = ""  # the test the verdict rests on, in words
    regime: RegimeMatch | None = None  # the scale's regime against the claim's needs
    effect: str = ""  # the measured effect with its interval, for the headline table


def sided_p(outcome: str, p_for: float, p_against: float) -> float:
    """The p a verdict rests on: the test of its direction; undecided: the smaller one."""
    if outcome == "supported":
        return p_for
    if outcome == "contradicted":
        return p_against
    return min(p_for, p_against)


def band_pvalues(e: Estimate, lo: float, hi: float) -> tuple[float, float]:
    """One-sided t p-values that the mean lies inside [lo, hi] (the larger of the finite edges'
    tests: both must hold) and that it lies outside (the smaller of the two sides)."""
    from scipy import special

    v = np.asarray(e.values, dtype=float)
    n, mean = len(v), float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else math.nan
    if not math.isfinite(sd):
        return math.nan, math.nan
    p_in, p_out = 0.0, 1.0
    for edge, side in ((lo, 1.0), (hi, -1.0)):
        if not math.isfinite(edge):
            continue
        if sd == 0.0:  # a constant value is certain: on the claim's side, the other, or at the edge
            gap = side * (mean - edge)
            p_edge_in, p_edge_out = (0.0, 1.0) if gap > 0 else (1.0, 0.0) if gap < 0 else (1.0, 1.0)
        else:
            t = side * (mean - edge) / (sd / math.sqrt(n))
            p_edge_in, p_edge_out = float(special.stdtr(n - 1, -t)), float(special.stdtr(n - 1, t))
        p_in, p_out = max(p_in, p_edge_in), min(p_out, p_edge_out)
    return p_in, p_out


def not_run(what: str) -> Verdict:
    return Verdict("undecided", f"no finished runs for {what} in the store",
                   "run the study: layerorder study run")


def seeds_for_interval(e: Estimate, room: float, level: float = LEVEL) -> int | None:
    """About how many seeds make the interval's half-width smaller than ``room`` if the mean and
    SD stay as measured (None: no room, so no number of seeds decides it)."""
    from scipy import stats

    if e.n < 2 or not room > 0:
        return None
    sd = float(np.std(e.values, ddof=1))
    z = stats.norm.ppf(0.5 + level / 2)
    n = max(e.n + 1, math.ceil((z * sd / room) ** 2))
    return n if n <= 10_000 else None


def interval_verdict(e: Estimate, lo: float, hi: float, what: str, unit: str = "") -> Verdict:
    """The claim 'the value lies in [lo, hi]' (``lo``/``hi`` may be infinite) for estimate e."""
    if e.n < 2:
        return Verdict("undecided", f"{what}: {e.n} value(s), too few for an interval",
                       "run more seeds", (e,), (lo, hi))
    shown = f"{what} = {_num(e.mean)}{unit} (90% CI {_num(e.low)} to {_num(e.high)}, {e.n} seeds)"
    effect = f"{_num(e.mean)}{unit} (90% CI {_num(e.low)} to {_num(e.high)})"
    band = _band(lo, hi, unit)
    p_in, p_out = band_pvalues(e, lo, hi)
    how = "one-sided t test"
    if lo < e.low and e.high < hi:  # strict: no difference at all does not show 'greater'
        return Verdict("supported", f"{shown}: inside {band}", "", (e,), (lo, hi), p=p_in,
                       decided_by=how, effect=effect)
    if e.high < lo or e.low > hi:
        return Verdict("contradicted", f"{shown}: outside {band}", "", (e,), (lo, hi), p=p_out,
                       decided_by=how, effect=effect)
    inside = lo <= e.mean <= hi
    room = min(e.mean - lo, hi - e.mean) if inside else max(lo - e.mean, e.mean - hi)
    n = seeds_for_interval(e, room)
    decide = (f"about {n} seeds would decide it if the mean and SD stay as measured" if n
              else "the mean lies at the threshold: more seeds alone will not decide it")
    return Verdict("undecided", f"{shown}: overlaps the edge of {band}", decide, (e,), (lo, hi),
                   p=min(p_in, p_out), decided_by=how, effect=effect)


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def _band(lo: float, hi: float, unit: str) -> str:
    if math.isinf(lo) and math.isinf(hi):
        return "any value"
    if math.isinf(lo):
        return f"the claim's side (below {_num(hi)}{unit})"
    if math.isinf(hi):
        return f"the claim's side (above {_num(lo)}{unit})"
    return f"the claim's band [{_num(lo)}, {_num(hi)}]{unit}"


# kind -> test record class; filled by the modules that define tests (all of them imported by
# ``studies.claim_tests``, which parses a claim's test)
TESTS: dict[str, type] = {}


def register(cls: type) -> type:
    TESTS[cls.kind] = cls
    return cls
