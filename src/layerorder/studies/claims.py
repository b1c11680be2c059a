"""Claim tests: what a claim measures, and how the measurement becomes a verdict.

Every test is a frozen record parsed from a claim's TOML keys and registered in ``TESTS`` by its
``kind``; ``evaluate(evidence, alpha)`` returns a ``Verdict``:

- ``supported``: the data reject the claim's negation at level alpha (one-sided 5 %: the 90 %
  interval lies on the claim's side of its threshold, or inside its band);
- ``contradicted``: the data reject the claim itself the same way (the interval lies wholly on
  the other side; or a pair the claim calls different is equivalent within the margin);
- ``undecided``: neither, with what would decide it (about how many seeds, or which scale).

Probe claims are in ``studies.probe_claims``, accuracy claims in ``studies.accuracy_claims``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy import stats

from layerorder.errors import ConfigError, did_you_mean

OUTCOMES = ("supported", "contradicted", "undecided")
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


def not_run(what: str) -> Verdict:
    return Verdict("undecided", f"no finished runs for {what} in the store",
                   "run the study: layerorder study run")


def seeds_for_interval(e: Estimate, room: float, level: float = LEVEL) -> int | None:
    """About how many seeds make the interval's half-width smaller than ``room`` if the mean and
    SD stay as measured (None: no room, so no number of seeds decides it)."""
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
    band = _band(lo, hi, unit)
    if lo < e.low and e.high < hi:  # strict: no difference at all does not show 'greater'
        return Verdict("supported", f"{shown}: inside {band}", "", (e,), (lo, hi))
    if e.high < lo or e.low > hi:
        return Verdict("contradicted", f"{shown}: outside {band}", "", (e,), (lo, hi))
    inside = lo <= e.mean <= hi
    room = min(e.mean - lo, hi - e.mean) if inside else max(lo - e.mean, e.mean - hi)
    n = seeds_for_interval(e, room)
    decide = (f"about {n} seeds would decide it if the mean and SD stay as measured" if n
              else "the mean lies at the threshold: more seeds alone will not decide it")
    return Verdict("undecided", f"{shown}: overlaps the edge of {band}", decide, (e,), (lo, hi))


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


# kind -> test record class; filled by the modules that define tests
TESTS: dict[str, type] = {}


def register(cls: type) -> type:
    TESTS[cls.kind] = cls
    return cls


def parse_test(kind: str, params: dict[str, Any], where: str):
    """The test record of a claim: ``kind`` names it, ``params`` are its keys."""
    from layerorder.studies import accuracy_claims, probe_claims  # noqa: F401  (they register)

    if kind not in TESTS:
        raise ConfigError(f"{where}: unknown test '{kind}'" + did_you_mean(kind, TESTS))
    cls = TESTS[kind]
    names = [f.name for f in fields(cls)]
    for key in params:
        if key not in names:
            raise ConfigError(f"{where}: test '{kind}' takes no key '{key}'"
                              + did_you_mean(key, names))
    return cls.parse(params, where)
