"""Claims about the compared metric (final test accuracy for the built-in loop; a user's run's
own metric, higher or lower being better as its ``goal`` says), read from the comparison's own
analysis (the same decisions,
reliability and learning-rate records that ``layerorder compare`` prints), so a claim's verdict
carries the comparison's statistics: paired t-tests and TOST with Holm over the pairs of a
condition, one-vs-rest Brown-Forsythe and Fisher for reliability.

``accuracy``: ``better`` is better than ``than`` on the metric (more accurate, or a lower loss
where lower is better), or the two orders in ``equivalent`` are
equivalent within the comparison's margin. ``ranking``: orders from best to worst. ``reliability``:
``less_reliable`` trains less reliably than the others (Holm over the conditions as well).
``stable-lr``: ``higher`` has a larger largest stable learning rate than ``than``.
``interaction``: the effect of the order depends on ``factor``.
Without ``condition`` an accuracy or ranking claim must hold in every condition (level of the
varied factors); a reliability claim holds when the order is less reliable in some condition
and more reliable in none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from layerorder.errors import ConfigError
from layerorder.stats.exact import sign_test
from layerorder.stats.lr import lr_robustness, stable_lr_difference
from layerorder.stats.metric import Metric
from layerorder.stats.reliability import CHANCE_POINTS, COLLAPSE_POINTS, at_chance, min_wider
from layerorder.studies.claims import (
    Estimate,
    Verdict,
    estimate,
    interval_verdict,
    not_run,
    register,
    sided_p,
)
from layerorder.studies.evidence import Evidence


def _text(params, key, where) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{key}' must be an order")
    return value


def _condition(params, where) -> Mapping[str, Any]:
    value = params.get("condition", {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: condition must be a table of factor = level")
    return dict(value)


def _conditions(ev: Evidence, wanted: Mapping[str, Any]):
    """The analysis' conditions at the wanted levels (all of them when none are given)."""
    wanted = ev.resolve(wanted)
    return [c for c in ev.results.analysis.conditions if c.at(wanted)]


def _at(name: str) -> str:
    return f" at {name}" if name else ""


def _values(ev: Evidence, cond, label: str) -> dict[int, float]:
    """Seed -> the final value of the compared metric in the order's finished run at its chosen
    learning rate."""
    lr = next((r.lr for r in cond.rows if r.label == label), None)
    out = {}
    for run in ev.runs(label, dict(cond.levels)):
        value = ev.metric.value_of(run) if run.status == "done" else None
        if value is not None and math.isfinite(value) and (lr is None or run.lr == lr):
            out[run.seed] = float(value)
    return out


def _diff_axis(metric: Metric) -> str:
    """The axis of a claim's differences: points of accuracy, or the metric's own units."""
    if metric.is_accuracy:
        return "difference in points of accuracy"
    return f"difference in {metric.name} ({metric.direction})"


def _better_band(metric: Metric) -> tuple[float, float]:
    """Where a difference a - b says a is better: above zero, or below it for a metric where
    lower is better."""
    return (0.0, math.inf) if metric.higher_is_better else (-math.inf, 0.0)


def _combine(verdicts: list[Verdict]) -> Verdict:
    """A claim over several conditions holds when it holds in each."""
    if len(verdicts) == 1:
        return verdicts[0]
    outcomes = {v.outcome for v in verdicts}
    outcome = ("contradicted" if "contradicted" in outcomes
               else "supported" if outcomes == {"supported"} else "undecided")
    decide = "; ".join(v.decide for v in verdicts if v.decide)
    ps = [v.p for v in verdicts if v.outcome == outcome] or [v.p for v in verdicts]
    # every condition must hold (intersection-union): the largest p; a contradiction in any
    # one suffices: the smallest
    p = (min(ps) if outcome == "contradicted" else max(ps)) if ps else math.nan
    return Verdict(outcome, "; ".join(v.evidence for v in verdicts), decide,
                   tuple(e for v in verdicts for e in v.estimates), verdicts[0].reference,
                   verdicts[0].axis, p=p, decided_by=verdicts[0].decided_by,
                   effect="; ".join(v.effect for v in verdicts if v.effect))


def _decision(cond, a: str, b: str):
    """The decision of pair (a, b), oriented as a - b (None when the pair was not compared)."""
    for d in cond.decisions:
        if (d.a, d.b) == (a, b):
            return d.decision, d.mean_diff, d.ci_low, d.ci_high, d
        if (d.a, d.b) == (b, a):
            return d.decision, -d.mean_diff, -d.ci_high, -d.ci_low, d
    return None


def _chance(cond) -> float:
    """The chance level the comparison counted failures against (nan when unknown)."""
    return next((r.chance for r in cond.reliability if math.isfinite(r.chance)), math.nan)


def _failed(ev: Evidence, cond, label: str) -> dict[int, bool]:
    """Seed -> whether the order's run at its chosen rate failed (diverged, did not finish or
    ended at chance)."""
    lr = next((r.lr for r in cond.rows if r.label == label), None)
    chance = _chance(cond)
    out = {}
    for run in ev.runs(label, dict(cond.levels)):
        if lr is not None and run.lr != lr:
            continue
        value = ev.metric.value_of(run) if run.status == "done" else None
        out[run.seed] = (value is None or not math.isfinite(value)
                         or (ev.metric.is_accuracy and at_chance(float(value), chance)))
    return out


def _shown_ci(metric: Metric, d, diff: float, lo: float, hi: float) -> str:
    level = f"{100 * d.sim_level:.3g}% simultaneous" if math.isfinite(d.sim_level) else "95%"
    return (f"{metric.signed(diff)} {metric.units} ({level} CI {metric.signed(lo)} to "
            f"{metric.signed(hi)})")


@register
@dataclass(frozen=True)
class AccuracyTest:
    kind: ClassVar[str] = "accuracy"
    family: ClassVar[str] = "accuracy"
    better: str = ""
    than: str = ""
    equivalent: tuple[str, ...] = ()
    condition: Mapping[str, Any] = field(default_factory=dict)
    by: float = 0.0  # the advantage the claim states, in the metric's units (points of accuracy):
    # equivalence within a smaller margin contradicts it; equivalence alone does not contradict
    # a smaller advantage

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> AccuracyTest:
        cond = _condition(params, where)
        if "equivalent" in params:
            orders = params["equivalent"]
            if not (isinstance(orders, list) and len(orders) >= 2
                    and all(isinstance(p, str) for p in orders)):
                raise ConfigError(f"{where}: 'equivalent' takes two or more orders")
            return cls(equivalent=tuple(orders), condition=cond)
        by = params.get("by", 0.0)
        if not isinstance(by, (int, float)) or by < 0:
            raise ConfigError(f"{where}: 'by' takes the claimed advantage (>= 0), in points of"
                              " accuracy or the metric's own units")
        return cls(_text(params, "better", where), _text(params, "than", where), (), cond,
                   float(by))

    def pairs(self) -> list[tuple[str, str]]:
        if self.equivalent:
            return [(a, b) for i, a in enumerate(self.equivalent)
                    for b in self.equivalent[i + 1:]]
        return [(self.better, self.than)]

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        conds = _conditions(ev, self.condition)
        if not conds:
            return not_run(" and ".join(self.equivalent or (self.better, self.than)))
        verdicts = [self._one(ev, c, a, b, alpha) for c in conds for a, b in self.pairs()]
        return _combine(verdicts)

    def _one(self, ev: Evidence, cond, a: str, b: str, alpha: float) -> Verdict:
        found = _decision(cond, a, b)
        if found is None:
            return not_run(f"the pair {a} / {b}{_at(cond.name)}")
        decision, diff, lo, hi, d = found
        metric = ev.metric
        if d.a != a:  # the simultaneous interval, oriented as a - b
            slo, shi = -d.sim_high, -d.sim_low
        else:
            slo, shi = d.sim_low, d.sim_high
        xa, xb = _values(ev, cond, a), _values(ev, cond, b)
        seeds = sorted(set(xa) & set(xb))
        diffs = tuple(xa[s] - xb[s] for s in seeds)
        e = Estimate(f"{a} - {b}{_at(cond.name)}", diffs, diff, slo, shi)
        shown = (f"{a} - {b}{_at(cond.name)} = {_shown_ci(metric, d, diff, slo, shi)}, "
                 f"{d.n_pairs} seeds; Holm p {d.p_holm:.3g}"
                 + (f", TOST p {d.p_tost_holm:.3g}" if d.margin > 0 else ", no equivalence test")
                 + ": "
                 f"{decision}" + (f" within +-{d.margin:g}" if decision == "equivalent" else ""))
        fa, fb = _failed(ev, cond, a), _failed(ev, cond, b)
        if not self.equivalent and (any(fa.values()) or any(fb.values())):
            return self._with_failures(ev, cond, a, b, fa, fb, e, shown, alpha)
        if decision == "undecided":
            outcome = "undecided"
        elif self.equivalent:
            outcome = "supported" if decision == "equivalent" else "contradicted"
        elif decision == "different":
            outcome = "supported" if metric.gain(diff) > 0 else "contradicted"
        else:  # equivalent within the margin: it rules out only advantages larger than that
            outcome = "contradicted" if d.margin <= self.by else "undecided"
        decide = ""
        if outcome == "undecided" and decision == "equivalent":
            decide = (f"the difference is inside +-{d.margin:g}: a smaller margin (more seeds) "
                      "would tell whether an advantage this small exists")
        elif outcome == "undecided":
            n = d.seeds_to_decide
            decide = (f"about {n} seeds per order would decide it" if n
                      else "no practical number of seeds decides it at this scale")
        if self.equivalent:
            p_for, p_against = d.p_tost_holm, d.p_holm
        else:
            gain = metric.gain(diff)
            p_for = d.p_holm if gain > 0 else 1.0
            p_against = d.p_holm if gain < 0 else (d.p_tost_holm if d.margin <= self.by else 1.0)
        band = (-d.margin, d.margin) if self.equivalent else _better_band(metric)
        how = "paired TOST, Holm over the pairs" if self.equivalent else (
            "paired t-test, Holm over the pairs")
        return Verdict(outcome, shown, decide, (e,), band, _diff_axis(metric),
                       p=sided_p(outcome, p_for, p_against), decided_by=how,
                       effect=_shown_ci(metric, d, diff, slo, shi))

    def _with_failures(self, ev, cond, a, b, fa, fb, e, shown, alpha) -> Verdict:
        """Failed seeds make the outcome bimodal: the direction is decided by the exact sign
        test on the paired seeds (a failed run loses to one that trained, two failed runs tie),
        with Fisher's test of the failure rates beside it; the t-test is shown, not used."""
        from scipy import stats

        metric = ev.metric
        xa, xb = _values(ev, cond, a), _values(ev, cond, b)
        seeds = sorted(set(fa) & set(fb))
        diffs = []
        for s in seeds:
            # in the metric's better direction: a failed run ranks below any that trained
            va = -math.inf if fa[s] or s not in xa else metric.gain(xa[s])
            vb = -math.inf if fb[s] or s not in xb else metric.gain(xb[s])
            diffs.append(0.0 if va == vb else (1.0 if va > vb else -1.0))
        test, against = sign_test(diffs, "greater"), sign_test(diffs, "less")
        na, nb = sum(fa.values()), sum(fb.values())
        fisher = stats.fisher_exact([[nb, len(fb) - nb], [na, len(fa) - na]],
                                    alternative="greater").pvalue
        outcome = ("supported" if test.p < alpha else "contradicted" if against.p < alpha
                   else "undecided")
        failed = "diverged or at chance" if metric.is_accuracy else "diverged or not finished"
        text = (f"{shown}. Failed seeds ({failed}): {a} {na}/{len(fa)}, {b} "
                f"{nb}/{len(fb)}, Fisher one-sided p {fisher:.3g}; decided by the {test.describe()}"
                " (a failed run ranks below any trained one)")
        decide = "" if outcome != "undecided" else (
            "more seeds: a one-sided sign test needs at least 5 untied seeds all one way")
        return Verdict(outcome, text, decide, (e,), _better_band(metric), _diff_axis(metric),
                       p=sided_p(outcome, test.p, against.p), decided_by="exact sign test",
                       effect=f"{test.above} of {test.n} seeds favour {a}, {test.below} {b}; "
                       f"failed {na} vs {nb}")


@register
@dataclass(frozen=True)
class RankingTest:
    """The orders rank as listed, best first. An entry may be a list of orders, a tier the
    ranking does not order within (a source whose own tables put two units either way round at
    two depths): only pairs from different tiers are tested. ``tiers``: each order's tier."""

    kind: ClassVar[str] = "ranking"
    ranking: tuple[str, ...] = ()
    condition: Mapping[str, Any] = field(default_factory=dict)
    tiers: tuple[int, ...] = ()

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> RankingTest:
        ranking = params.get("ranking")
        usage = (f"{where}: 'ranking' takes two or more entries, best first, each an order or a"
                 " list of orders it does not rank among themselves")
        if not (isinstance(ranking, list) and len(ranking) >= 2):
            raise ConfigError(usage)
        orders, tiers = [], []
        for i, entry in enumerate(ranking):
            tier = entry if isinstance(entry, list) else [entry]
            if not tier or not all(isinstance(o, str) for o in tier):
                raise ConfigError(usage)
            orders += tier
            tiers += [i] * len(tier)
        if len(set(orders)) < len(orders):
            raise ConfigError(f"{where}: 'ranking' names an order twice")
        return cls(tuple(orders), _condition(params, where), tuple(tiers))

    def __post_init__(self) -> None:
        if self.tiers and len(self.tiers) != len(self.ranking):
            raise ValueError("a ranking's tiers name one tier per order")

    def _tier(self, i: int) -> int:
        return self.tiers[i] if self.tiers else i

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        conds = _conditions(ev, self.condition)
        if not conds:
            return not_run(", ".join(self.ranking))
        return _combine([self._one(ev, c) for c in conds])

    def _one(self, ev: Evidence, cond) -> Verdict:
        from scipy import stats

        metric = ev.metric
        counts = {"agree": 0, "reversed": 0, "equivalent": 0, "undecided": 0}
        p_agree, p_reversed = [], []
        for i, a in enumerate(self.ranking):
            for j, b in enumerate(self.ranking[i + 1:], start=i + 1):
                if self._tier(j) == self._tier(i):  # a tier the ranking does not order
                    continue
                found = _decision(cond, a, b)
                if found is None:
                    return not_run(f"the pair {a} / {b}{_at(cond.name)}")
                decision, diff, d = found[0], found[1], found[4]
                ahead = metric.gain(diff) > 0
                key = ("agree" if ahead else "reversed") if decision == "different" else decision
                counts[key] += 1
                (p_agree if ahead else p_reversed).append(d.p_holm)
        accs = {label: _values(ev, cond, label) for label in self.ranking}
        ests = tuple(estimate(f"{k}{_at(cond.name)}", list(v.values())) for k, v in accs.items())
        means = [e.mean for e in ests]
        ranks = [self._tier(i) for i in range(len(means))]
        tau = stats.kendalltau(ranks, [-metric.gain(m) for m in means]).statistic
        total = sum(counts.values())
        text = (f"{_at(cond.name).strip() or 'overall'}: of {total} pairs the ranking implies, "
                f"{counts['agree']} differ in its direction, {counts['reversed']} the other way, "
                f"{counts['equivalent']} are equivalent within the margin and "
                f"{counts['undecided']} undecided; Kendall's tau between the stated ranking and "
                f"the mean {metric.noun} = {tau:+.2f}")
        if counts["reversed"]:
            outcome = "contradicted"
        elif counts["agree"] == total:
            outcome = "supported"
        else:
            outcome = "undecided"
        decide = "" if outcome != "undecided" else (
            "more seeds, or a scale nearer the source's (the gaps a ranking names can be"
            " fractions of a point)" if metric.is_accuracy else "more seeds per order")
        # supported needs every pair (the largest p); a contradiction needs one (the smallest)
        p_for = max(p_agree) if len(p_agree) == total else 1.0
        p_against = min(p_reversed) if p_reversed else 1.0
        return Verdict(outcome, text, decide, ests, None, f"final {metric.label}",
                       p=sided_p(outcome, p_for, p_against),
                       decided_by="paired t-tests, Holm over the pairs",
                       effect=f"{counts['agree']} of {total} pairs in the stated direction, "
                       f"{counts['reversed']} reversed; tau {tau:+.2f}")


@register
@dataclass(frozen=True)
class ReliabilityTest:
    kind: ClassVar[str] = "reliability"
    less_reliable: str = ""
    condition: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> ReliabilityTest:
        return cls(_text(params, "less_reliable", where), _condition(params, where))

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        conds = _conditions(ev, self.condition)
        records = [(c, r) for c in conds for r in c.reliability if r.label == self.less_reliable]
        if not records:
            return not_run(self.less_reliable)
        m = len(records)  # Bonferroni over the conditions, on the per-condition Holm p-values
        metric, wider_by = ev.metric, min_wider(ev.metric)
        worse, better, parts, ests, p_worse, p_better = [], [], [], [], [], []
        unread = []  # conditions whose spread is not read: the orders learn at different speeds
        for cond, r in records:
            # a spread read where this order is the slowest (still learning, so its seeds lie
            # apart) would count slowness as unreliability; where it is the fastest, the others'
            # slowness would count for it (``stats.speed``)
            rank = cond.speed.rank(self.less_reliable) if cond.speed is not None else ""
            wider = (r.sd >= 1.5 * r.sd_others and r.sd - r.sd_others >= wider_by
                     and rank != "slowest")
            narrower = (r.sd_others >= 1.5 * r.sd and r.sd_others - r.sd >= wider_by
                        and rank != "fastest")
            if rank and math.isfinite(r.p_spread_holm):
                unread.append(f"{cond.name or 'overall'} ({rank})")
            rate, rate_others = r.bad / max(r.total, 1), r.bad_others / max(r.total_others, 1)
            p_spread, p_fail = (min(1.0, x * m) for x in (r.p_spread_holm, r.p_failures_holm))
            if (p_spread < alpha and wider) or (p_fail < alpha and rate > rate_others):
                worse.append(cond.name)
            if (p_spread < alpha and narrower) or (p_fail < alpha and rate < rate_others):
                better.append(cond.name)
            for p, mine, theirs in ((p_spread, wider, narrower), (p_fail, rate > rate_others,
                                                                   rate < rate_others)):
                if math.isfinite(p):
                    (p_worse if mine else p_better if theirs else []).append(p)
            sds = " vs ".join(metric.cell(x) if math.isfinite(x) else "n/a"
                              for x in (r.sd, r.sd_others))
            parts.append(f"{cond.name or 'overall'}: SD {sds}, {r.bad}/{r.total} failed or "
                         f"collapsed ({r.failed} failed) vs {r.bad_others}/{r.total_others}")
            mine = _values(ev, cond, self.less_reliable)
            ests.append(estimate(f"{self.less_reliable}{_at(cond.name)}", list(mine.values())))
            rest = [v for lab in cond.labels if lab != self.less_reliable
                    for v in _values(ev, cond, lab).values()]
            ests.append(estimate(f"others{_at(cond.name)}", rest))
        text = "; ".join(parts)
        if worse and better:
            outcome = "undecided"
            text = (f"less reliable at {', '.join(worse)}, more reliable at "
                    f"{', '.join(better)}: {text}")
        elif worse:
            where = ", ".join(w for w in worse if w) or "the one condition"
            outcome, text = "supported", f"less reliable at {where}: {text}"
        elif better:
            where = ", ".join(b for b in better if b) or "the one condition"
            outcome, text = "contradicted", f"more reliable at {where}: {text}"
        else:
            outcome = "undecided"
        decide = "" if outcome != "undecided" else (
            "more seeds per condition (spread tests need many: about 20 for a 2x SD ratio)")
        chance = next((r.chance for _, r in records if math.isfinite(r.chance)), math.nan)
        failures = (f"failed: diverged, not finished or within {CHANCE_POINTS:g} points of"
                    f" chance ({chance:.1f} %); collapsed: more than {COLLAPSE_POINTS:g} points"
                    " below the median of the same order's other seeds" if metric.is_accuracy
                    else f"failed: diverged, not finished or no {metric.name} reported (a metric"
                    " with no chance level or scale has no collapse)")
        speed = ("; slower training is not counted: spread is not read against "
                 f"{self.less_reliable} where it is the slowest order to reach the speed target,"
                 " nor for it where it is the fastest"
                 + (f"; here {', '.join(unread)}" if unread else "")
                 if metric.is_accuracy else "")  # speed is measured for accuracy alone
        how = (f"{failures}; spread over the seeds that did not fail; Holm over orders,"
               f" Bonferroni over {m} conditions{speed})")
        return Verdict(outcome, f"{text} ({how}", decide, tuple(ests), None,
                       f"final {metric.label}",
                       p=sided_p(outcome, min(p_worse, default=1.0), min(p_better, default=1.0)),
                       decided_by="Brown-Forsythe and Fisher's exact test",
                       effect=f"less reliable at {len(worse)} of {m} conditions, more at "
                       f"{len(better)}")


def _sweeps(ev: Evidence, labels) -> dict[str, dict[float, dict[int, float | None]]]:
    """label -> lr -> seed -> final accuracy (None: diverged), over every learning rate."""
    out: dict[str, dict[float, dict[int, float | None]]] = {k: {} for k in labels}
    for run in ev.results.runs:
        if run.label in out and run.status in ("done", "diverged"):
            value = ev.metric.value_of(run) if run.status == "done" else None
            out[run.label].setdefault(run.lr, {})[run.seed] = value
    return out


@register
@dataclass(frozen=True)
class StableLrTest:
    """``higher``'s largest stable learning rate exceeds ``than``'s: the difference in log2
    steps with a percentile bootstrap interval over seeds (``stats.lr.stable_lr_difference``),
    decided by the exact sign test over seeds of each seed's own largest stable rate
    (``stats.lr.seed_limits``): supported when its one-sided p is below alpha, contradicted
    when the opposite one is. A tie on the grid is undecided: never a contradiction.

    Stability is read as accuracy within 1 point of the best, so the test reads test accuracy
    only (a study file that gives it an experiment of another metric is refused)."""

    kind: ClassVar[str] = "stable-lr"
    accuracy_only: ClassVar[bool] = True
    higher: str = ""
    than: str = ""

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> StableLrTest:
        return cls(_text(params, "higher", where), _text(params, "than", where))

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        sweeps = _sweeps(ev, (self.higher, self.than))
        if not sweeps[self.higher] or not sweeps[self.than]:
            return not_run(f"{self.higher} and {self.than} over a learning-rate sweep")
        plain = {k: {lr: list(v.values()) for lr, v in sw.items()} for k, sw in sweeps.items()}
        a, b = lr_robustness(plain)
        lrs = sorted({p.lr for p in a.points} | {p.lr for p in b.points})
        if len(lrs) < 2:
            return Verdict("undecided", "one learning rate: no sweep to read a limit from",
                           "sweep the learning rate (lr = [...])")
        boot = stable_lr_difference(self.higher, self.than, sweeps, level=1 - 2 * alpha)

        def show(r) -> str:
            pts = ", ".join(
                f"{p.lr:g}: " + (f"{p.mean:.1f}%" if p.n else "all diverged")
                + (f" ({p.n_diverged} diverged)" if p.n_diverged and p.n else "")
                for p in r.points
            )
            return f"{r.label} largest stable lr {r.max_stable_lr or 'none'} ({pts})"

        interval = (f"difference {boot.diff:+.2g} log2 steps, {100 * boot.level:g}% bootstrap"
                    f" interval {boot.low:+.2g} to {boot.high:+.2g} over seeds ({boot.n_boot}"
                    " resamples)")
        sign = boot.sign
        p_for, p_against = boot.exact_p("greater"), boot.exact_p("less")
        text = (f"{show(a)}; {show(b)}; {interval} (stable: no run diverged, mean within 1 point"
                f" of the best); each seed's own largest stable rate, {self.higher} against "
                f"{self.than}: higher on {sign.above}, lower on {sign.below}, tied on "
                f"{sign.ties} seeds (exact one-sided sign-test p {min(p_for, p_against):.3g})")
        if a.max_stable_lr is None and b.max_stable_lr is None:
            outcome, decide = "undecided", "neither is stable anywhere in the sweep: lower it"
        elif p_for < alpha:
            outcome, decide = "supported", ""
        elif p_against < alpha:
            outcome, decide = "contradicted", ""
        elif a.max_stable_lr == b.max_stable_lr:
            top = a.max_stable_lr == lrs[-1]
            outcome = "undecided"
            decide = ("both are stable at the top of the sweep: extend it" if top else
                      f"both are stable up to {a.max_stable_lr:g} and not at the next rate: a "
                      "finer grid between them would decide it (a tie on the grid is not a "
                      "contradiction)")
        else:
            outcome, decide = "undecided", ("more seeds per learning rate (the sign test needs "
                                            "at least 5 untied seeds, all one way)")
        ests = tuple(
            Estimate(f"{r.label} lr={p.lr:g}",
                     tuple(v for v in plain[r.label][p.lr] if v is not None), p.mean,
                     math.nan, math.nan)
            for r in (a, b) for p in r.points
        )
        # the headline leads with what decides: each seed's own limit, counted by the sign test
        # (the grid's largest stable rates of the two means can tie where the seeds do not)
        effect = (f"seeds' own limits higher on {sign.above}, lower on {sign.below}, tied on "
                  f"{sign.ties} (sign-test p {min(p_for, p_against):.3g}); largest stable lr of "
                  f"the means {a.max_stable_lr or 'none'} vs {b.max_stable_lr or 'none'}")
        return Verdict(outcome, text, decide, ests, None, "mean final test accuracy (%)",
                       p=sided_p(outcome, p_for, p_against),
                       decided_by="exact sign test over seeds' own limits", effect=effect)


@register
@dataclass(frozen=True)
class InteractionTest:
    """The effect of the order depends on ``factor`` (non-directional: 'depth changes the
    answer'); a directional claim takes the ``trend`` test instead."""

    kind: ClassVar[str] = "interaction"
    factor: str = ""

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> InteractionTest:
        return cls(_text(params, "factor", where))

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        found = [i for i in ev.results.analysis.interactions if i.factor == self.factor]
        if not found:
            return not_run(f"the order x {self.factor} interaction")
        i = found[0]
        text = f"order x {self.factor} interaction p = {i.p:.3g} ({i.test})"
        if i.p < alpha:
            return Verdict("supported", text, p=i.p, decided_by=f"interaction ({i.test})",
                           effect=f"p = {i.p:.3g}")
        return Verdict("undecided", text + ": no evidence of an interaction, which is not evidence"
                       " of its absence", "more seeds per condition, or levels further apart",
                       p=i.p, decided_by=f"interaction ({i.test})", effect=f"p = {i.p:.3g}")


@register
@dataclass(frozen=True)
class TrendTest:
    """A directional interaction: the advantage of ``better`` over ``than`` grows with
    ``factor``. Per seed, the least-squares slope of the paired difference over the factor's
    levels; the claim holds when the mean slope is above zero (one-sided t on the seeds'
    slopes, its 90 % interval). The estimates are the difference at each level (cell means)."""

    kind: ClassVar[str] = "trend"
    better: str = ""
    than: str = ""
    factor: str = ""

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> TrendTest:
        return cls(_text(params, "better", where), _text(params, "than", where),
                   _text(params, "factor", where))

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        conds = sorted(ev.results.analysis.conditions,
                       key=lambda c: float(dict(c.levels)[self.factor]))
        if len(conds) < 2:
            return not_run(f"{self.better} and {self.than} over levels of {self.factor}")
        metric, per_level = ev.metric, []
        for c in conds:  # differences turned so that positive means ``better`` is better
            xa, xb = _values(ev, c, self.better), _values(ev, c, self.than)
            per_level.append((float(dict(c.levels)[self.factor]),
                              {s: metric.gain(xa[s] - xb[s]) for s in set(xa) & set(xb)}))
        seeds = sorted(set.intersection(*(set(d) for _, d in per_level)))
        if len(seeds) < 2:
            return not_run(f"paired seeds of {self.better} and {self.than} at every level")
        x = np.array([lv for lv, _ in per_level])
        slopes = [float(np.polyfit(x, [d[s] for _, d in per_level], 1)[0]) for s in seeds]
        what = (f"{self.better} - {self.than}" if metric.higher_is_better
                else f"{self.than} - {self.better}")  # the advantage, lower being better
        e = estimate(f"slope of {what} per unit of {self.factor}", slopes)
        v = interval_verdict(e, 0.0, math.inf, f"slope per unit of {self.factor}")
        cells = tuple(estimate(f"{self.factor}={lv:g}", [d[s] for s in seeds])
                      for lv, d in per_level)
        means = ", ".join(f"{c.label}: {metric.signed(c.mean)}" for c in cells)
        text = f"{what} by {self.factor} ({means} {metric.units}); {v.evidence}"
        return replace(v, evidence=text, estimates=cells, reference=(0.0, 0.0),
                       axis=f"{what} ({metric.units})",
                       decided_by="one-sided t on per-seed slopes")
