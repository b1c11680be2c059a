"""Claims about what an order does inside the network, read from stored probe records.

``value``: one measure (see ``studies.evidence.Measure``) lies in a band, above or below a
threshold. ``difference``: measure ``a`` minus measure ``b``, paired by seed (two orders, two
stages or two epochs of one order), is greater or less than zero, or within ``margin`` of it;
with ``log = true`` the ratio a/b is tested on the log scale and reported as a ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from layerorder.errors import ConfigError
from layerorder.studies.claims import (
    Estimate,
    Verdict,
    estimate,
    interval_verdict,
    not_run,
    register,
)
from layerorder.studies.evidence import Evidence, Measure, parse_measure

INF = math.inf
EXPECT = ("greater", "less", "equivalent")


def _number(params: dict, key: str, where: str) -> float | None:
    value = params.get(key)
    if value is not None and not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: '{key}' must be a number")
    return None if value is None else float(value)


@register
@dataclass(frozen=True)
class ValueTest:
    kind: ClassVar[str] = "value"
    measure: Measure
    between: tuple[float, float] | None = None
    above: float | None = None
    below: float | None = None

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> ValueTest:
        measure = parse_measure(params.get("measure") or {}, f"{where} measure")
        between = params.get("between")
        if between is not None:
            if not (isinstance(between, list) and len(between) == 2 and between[0] < between[1]):
                raise ConfigError(f"{where}: 'between' takes [low, high] with low < high")
            between = (float(between[0]), float(between[1]))
        above, below = _number(params, "above", where), _number(params, "below", where)
        if sum(x is not None for x in (between, above, below)) != 1:
            raise ConfigError(f"{where}: give exactly one of between, above, below")
        return cls(measure, between, above, below)

    def band(self) -> tuple[float, float]:
        if self.between is not None:
            return self.between
        return (self.above, INF) if self.above is not None else (-INF, self.below)

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        values = ev.values(self.measure)
        if not values:
            return not_run(self.measure.describe())
        e = estimate(self.measure.describe(), list(values.values()))
        lo, hi = self.band()
        v = interval_verdict(e, lo, hi, self.measure.describe())
        return _with_axis(v, self.measure.statistic)


@register
@dataclass(frozen=True)
class DifferenceTest:
    kind: ClassVar[str] = "difference"
    a: Measure
    b: Measure
    expect: str = "greater"
    margin: float | None = None
    log: bool = False

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> DifferenceTest:
        table_a = params.get("a") or {}
        a = parse_measure(table_a, f"{where} a")
        b = parse_measure({**table_a, **(params.get("b") or {})}, f"{where} b")
        expect = params.get("expect", "greater")
        if expect not in EXPECT:
            raise ConfigError(f"{where}: expect must be one of {', '.join(EXPECT)}")
        margin = _number(params, "margin", where)
        if expect == "equivalent" and not (margin and margin > 0):
            raise ConfigError(f"{where}: expect = 'equivalent' needs a positive margin")
        return cls(a, b, expect, margin, bool(params.get("log", False)))

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        va, vb = ev.values(self.a), ev.values(self.b)
        seeds = sorted(set(va) & set(vb))
        if not seeds:
            return not_run(f"{self.a.describe()} and {self.b.describe()}")
        if self.log:
            pairs = [(va[s], vb[s]) for s in seeds if va[s] > 0 and vb[s] > 0]
            diffs = [math.log(x) - math.log(y) for x, y in pairs]
        else:
            diffs = [va[s] - vb[s] for s in seeds]
        what = f"{self.a.describe()} {'/' if self.log else '-'} {self.b.describe()}"
        e = estimate("log ratio" if self.log else "difference", diffs)
        m = self.margin
        if self.expect == "equivalent":
            lo, hi = (-m, m)
        elif self.expect == "greater":
            lo, hi = (m or 0.0, INF)
        else:
            lo, hi = (-INF, -m if m else 0.0)
        v = interval_verdict(e, lo, hi, what)
        if self.log:
            v = _as_ratio(v, e, lo, hi, what)
        ma = sum(va[s] for s in seeds) / len(seeds)
        mb = sum(vb[s] for s in seeds) / len(seeds)
        text = f"{v.evidence} (means {ma:.3g} and {mb:.3g})"
        v = Verdict(v.outcome, text, v.decide, v.estimates, v.reference)
        return _with_axis(v, "log ratio a/b" if self.log else f"difference of {self.a.statistic}")


def _as_ratio(v: Verdict, e: Estimate, lo: float, hi: float, what: str) -> Verdict:
    """The verdict's words on the ratio scale (the test ran on logs)."""
    def r(x: float) -> str:
        return "n/a" if not math.isfinite(x) else f"{math.exp(x):.3g}"

    side = {"supported": "on the claim's side of", "contradicted": "on the other side of",
            "undecided": "overlapping"}[v.outcome]
    band = f"[{r(lo)}, {r(hi)}]" if math.isfinite(lo) and math.isfinite(hi) else (
        f"ratio {r(lo) if math.isfinite(lo) else r(hi)}")
    text = (f"{what} = {r(e.mean)} (geometric mean; 90% CI {r(e.low)} to {r(e.high)}, "
            f"{e.n} seeds): {side} {band}")
    return Verdict(v.outcome, text, v.decide, v.estimates, v.reference)


def _with_axis(v: Verdict, axis: str) -> Verdict:
    return Verdict(v.outcome, v.evidence, v.decide, v.estimates, v.reference, axis)
