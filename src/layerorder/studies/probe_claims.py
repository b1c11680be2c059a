"""Claims about what an order does inside the network, read from stored probe records.

``value``: one measure (see ``studies.evidence.Measure``) lies in a band, above or below a
threshold. ``difference``: measure ``a`` minus measure ``b``, paired by seed (two orders, two
stages or two epochs of one order), is greater or less than zero, different from zero
(two-sided), within ``margin`` of it, at most ``margin`` above it (``not-greater``) or at
most ``margin`` below it (``not-less``); with ``log = true`` the ratio a/b is tested on the log
scale and reported as a ratio. ``method = "sign"`` tests the direction with the exact sign test
instead of a t interval: for counts pinned at a floor (dead units that are 0 for most seeds),
where a t interval is meaningless; a side that is the same value for every seed switches to it
too. ``shift-formula``: a BN layer's measured train/test variance shift against Li et al.'s
formula from the input's measured mean and variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from layerorder.errors import ConfigError
from layerorder.stats.exact import sign_test
from layerorder.studies.claims import (
    Estimate,
    Verdict,
    band_pvalues,
    estimate,
    interval_verdict,
    not_run,
    register,
    sided_p,
)
from layerorder.studies.evidence import Evidence, Measure, parse_measure

INF = math.inf
# ``not-greater``: a exceeds b by less than the margin (non-superiority: "does not improve");
# ``not-less``: a falls short of b by less than the margin (non-inferiority: "no worse than")
EXPECT = ("greater", "less", "equivalent", "different", "not-greater", "not-less")
MARGINED = ("equivalent", "not-greater", "not-less")  # the expectations that need a margin
METHODS = ("t", "sign")


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
        shown = ev.shown(self.measure).describe()
        e = estimate(shown, list(values.values()))
        lo, hi = self.band()
        v = interval_verdict(e, lo, hi, shown)
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
    method: str = "t"

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> DifferenceTest:
        table_a = params.get("a") or {}
        a = parse_measure(table_a, f"{where} a")
        b = parse_measure({**table_a, **(params.get("b") or {})}, f"{where} b")
        expect = params.get("expect", "greater")
        if expect not in EXPECT:
            raise ConfigError(f"{where}: expect must be one of {', '.join(EXPECT)}")
        margin = _number(params, "margin", where)
        if expect in MARGINED and not (margin and margin > 0):
            raise ConfigError(f"{where}: expect = '{expect}' needs a positive margin")
        method = params.get("method", "t")
        if method not in METHODS:
            raise ConfigError(f"{where}: method must be one of {', '.join(METHODS)}")
        if method == "sign" and expect not in ("greater", "less"):
            raise ConfigError(f"{where}: the sign test takes expect = 'greater' or 'less'")
        return cls(a, b, expect, margin, bool(params.get("log", False)), method)

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
        what = (f"{ev.shown(self.a).describe()} {'/' if self.log else '-'} "
                f"{ev.shown(self.b).describe()}")
        e = estimate("log ratio" if self.log else "difference", diffs)
        constant = any(len({v[s] for s in seeds}) == 1 for v in (va, vb)) and len(seeds) > 1
        if self.expect in ("greater", "less") and (self.method == "sign" or constant):
            return self._sign(diffs, e, what, va, vb, seeds, alpha)
        if self.expect == "different":
            return self._different(e, what, alpha)
        m = self.margin
        if self.expect == "equivalent":
            lo, hi = (-m, m)
        elif self.expect == "not-greater":
            lo, hi = (-INF, m)
        elif self.expect == "not-less":
            lo, hi = (-m, INF)
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
        v = replace(v, evidence=text)
        return _with_axis(v, "log ratio a/b" if self.log else f"difference of {self.a.statistic}")

    def _sign(self, diffs, e: Estimate, what: str, va, vb, seeds, alpha: float) -> Verdict:
        """The direction by the exact sign test (ties dropped)."""
        side = self.expect  # greater or less
        other = "less" if side == "greater" else "greater"
        test, against = sign_test(diffs, side), sign_test(diffs, other)
        outcome = ("supported" if test.p < alpha else "contradicted" if against.p < alpha
                   else "undecided")
        ma = sum(va[s] for s in seeds) / len(seeds)
        mb = sum(vb[s] for s in seeds) / len(seeds)
        why = ("the sign test (declared)" if self.method == "sign"
               else "the sign test (one side is the same value for every seed, so a t interval"
               " says nothing)")
        text = (f"{what}: {test.describe()} for '{side}' (means {ma:.3g} and {mb:.3g}); decided"
                f" by {why}")
        untied = test.above + test.below
        decide = "" if outcome != "undecided" else (
            f"{untied} of {test.n} seeds differ at all; a one-sided sign test needs at least 5"
            " untied seeds all in one direction, so more seeds (or a deeper network, where the"
            " count is not pinned at its floor)")
        v = Verdict(outcome, text, decide, (e,), (0.0, INF) if side == "greater" else (-INF, 0.0),
                    p=sided_p(outcome, test.p, against.p), decided_by="exact sign test",
                    effect=test.headline(side))
        return _with_axis(v, f"difference of {self.a.statistic}")

    def _different(self, e: Estimate, what: str, alpha: float) -> Verdict:
        """Two-sided: the 1 - alpha interval excludes zero (or the difference is equivalent
        within the margin, when one is given: contradicted)."""
        lo95 = estimate(e.label, e.values, level=1 - alpha)
        shown = (f"{what} = {lo95.mean:.3g} ({100 * (1 - alpha):g}% CI {lo95.low:.3g} to "
                 f"{lo95.high:.3g}, {e.n} seeds)")
        p_pos, _ = band_pvalues(e, 0.0, INF)
        p_neg, _ = band_pvalues(e, -INF, 0.0)
        p_two = min(1.0, 2 * min(p_pos, p_neg))
        if lo95.low > 0 or lo95.high < 0:
            return _with_axis(Verdict("supported", f"{shown}: excludes zero", "", (lo95,),
                                      (0.0, 0.0), p=p_two, decided_by="two-sided t test",
                                      effect=f"{lo95.mean:.3g} ({100 * (1 - alpha):g}% CI "
                                      f"{lo95.low:.3g} to {lo95.high:.3g})"), "difference")
        return _with_axis(Verdict("undecided", f"{shown}: includes zero",
                                  "more seeds, if a difference exists", (lo95,), (0.0, 0.0),
                                  p=p_two, decided_by="two-sided t test"), "difference")


@register
@dataclass(frozen=True)
class ShiftFormulaTest:
    """A BN layer's measured variance shift over Li et al.'s prediction 1/q + (c^2/v)(1/q - 1),
    with c^2/v measured in the same records (``VarianceShift.mean_sq_ratio``) and q = 1 - p_drop
    from the measure's condition (or the experiment's p_drop where it is not varied); the ratio
    lies within ``within`` of 1 (tested on logs)."""

    kind: ClassVar[str] = "shift-formula"
    measure: Measure
    within: float = 0.1

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> ShiftFormulaTest:
        m = parse_measure(params.get("measure") or {}, f"{where} measure")
        if m.kind != "varshift" or m.statistic != "shift":
            raise ConfigError(f"{where}: the measure must be kind = 'varshift', statistic = "
                              "'shift'")
        within = _number(params, "within", where)
        if within is None or not 0 < within < 1:
            raise ConfigError(f"{where}: 'within' takes the relative tolerance (0 < within < 1)")
        return cls(m, within)

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        shift = ev.values(self.measure)
        msq = ev.values(replace(self.measure, statistic="mean_sq_ratio"))
        seeds = sorted(set(shift) & set(msq))
        if not seeds:
            return not_run(f"{self.measure.describe()} with its input's mean and variance")
        named = ev.resolve(self.measure.condition, self.measure.order).get("p_drop")
        if named is None and ev.config is None:
            return not_run(f"{self.measure.describe()}: name p_drop in the measure's condition")
        q = 1.0 - float(named if named is not None else ev.config.p_drop)
        predicted = {s: 1.0 / q + msq[s] * (1.0 / q - 1.0) for s in seeds}
        logs = [math.log(shift[s] / predicted[s]) for s in seeds]
        e = estimate("log measured/predicted", logs)
        lo, hi = math.log(1 - self.within), math.log(1 + self.within)
        what = f"measured / predicted shift ({ev.shown(self.measure).describe()})"
        v = _as_ratio(interval_verdict(e, lo, hi, what), e, lo, hi, what)
        mean = lambda d: sum(d[s] for s in seeds) / len(seeds)  # noqa: E731
        text = (f"{v.evidence}; measured {mean(shift):.3g}, predicted {mean(predicted):.3g} "
                f"from c^2/v = {mean(msq):.3g} and q = {q:g} (1/q = {1 / q:.3g})")
        return _with_axis(replace(v, evidence=text), "log ratio measured / predicted")


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
    return replace(v, evidence=text, effect=f"ratio {r(e.mean)} (90% CI {r(e.low)} to "
                   f"{r(e.high)})")


def _with_axis(v: Verdict, axis: str) -> Verdict:
    return replace(v, axis=axis)
