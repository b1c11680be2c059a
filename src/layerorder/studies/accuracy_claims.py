"""Claims about final test accuracy, read from the comparison's own analysis (the same decisions,
reliability and learning-rate records that ``layerorder compare`` prints), so a claim's verdict
carries the comparison's statistics: paired t-tests and TOST with Holm over the pairs of a
condition, one-vs-rest Brown-Forsythe and Fisher for reliability.

``accuracy``: ``better`` is more accurate than ``than``, or the two orders in ``equivalent`` are
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
from dataclasses import dataclass, field
from typing import Any, ClassVar

from scipy import stats

from layerorder.errors import ConfigError
from layerorder.stats.lr import lr_robustness
from layerorder.stats.reliability import MIN_WIDER
from layerorder.studies.claims import Estimate, Verdict, estimate, not_run, register
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
    return [
        c for c in ev.results.analysis.conditions
        if all(str(dict(c.levels).get(k)) == str(v) for k, v in wanted.items())
    ]


def _at(name: str) -> str:
    return f" at {name}" if name else ""


def _accs(ev: Evidence, cond, label: str) -> dict[int, float]:
    lr = next((r.lr for r in cond.rows if r.label == label), None)
    levels = dict(cond.levels)
    out = {}
    for run in ev.runs(label, levels):
        if run.status == "done" and run.final_test_acc is not None and (lr is None or run.lr == lr):
            out[run.seed] = float(run.final_test_acc)
    return out


def _combine(verdicts: list[Verdict]) -> Verdict:
    """A claim over several conditions holds when it holds in each."""
    if len(verdicts) == 1:
        return verdicts[0]
    outcomes = {v.outcome for v in verdicts}
    outcome = ("contradicted" if "contradicted" in outcomes
               else "supported" if outcomes == {"supported"} else "undecided")
    decide = "; ".join(v.decide for v in verdicts if v.decide)
    return Verdict(outcome, "; ".join(v.evidence for v in verdicts), decide,
                   tuple(e for v in verdicts for e in v.estimates), verdicts[0].reference,
                   verdicts[0].axis)


def _decision(cond, a: str, b: str):
    """The decision of pair (a, b), oriented as a - b (None when the pair was not compared)."""
    for d in cond.decisions:
        if (d.a, d.b) == (a, b):
            return d.decision, d.mean_diff, d.ci_low, d.ci_high, d
        if (d.a, d.b) == (b, a):
            return d.decision, -d.mean_diff, -d.ci_high, -d.ci_low, d
    return None


@register
@dataclass(frozen=True)
class AccuracyTest:
    kind: ClassVar[str] = "accuracy"
    better: str = ""
    than: str = ""
    equivalent: tuple[str, str] = ()
    condition: Mapping[str, Any] = field(default_factory=dict)
    by: float = 0.0  # the advantage the claim states, in points: equivalence within a smaller
    # margin contradicts it; equivalence alone does not contradict a smaller advantage

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> AccuracyTest:
        cond = _condition(params, where)
        if "equivalent" in params:
            pair = params["equivalent"]
            if not (isinstance(pair, list) and len(pair) == 2
                    and all(isinstance(p, str) for p in pair)):
                raise ConfigError(f"{where}: 'equivalent' takes two orders")
            return cls(equivalent=tuple(pair), condition=cond)
        by = params.get("by", 0.0)
        if not isinstance(by, (int, float)) or by < 0:
            raise ConfigError(f"{where}: 'by' takes the claimed advantage in points (>= 0)")
        return cls(_text(params, "better", where), _text(params, "than", where), (), cond,
                   float(by))

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        a, b = self.equivalent or (self.better, self.than)
        conds = _conditions(ev, self.condition)
        if not conds:
            return not_run(f"{a} and {b}")
        return _combine([self._one(ev, c, a, b) for c in conds])

    def _one(self, ev: Evidence, cond, a: str, b: str) -> Verdict:
        found = _decision(cond, a, b)
        if found is None:
            return not_run(f"the pair {a} / {b}{_at(cond.name)}")
        decision, diff, lo, hi, d = found
        xa, xb = _accs(ev, cond, a), _accs(ev, cond, b)
        seeds = sorted(set(xa) & set(xb))
        diffs = tuple(xa[s] - xb[s] for s in seeds)
        e = Estimate(f"{a} - {b}{_at(cond.name)}", diffs, diff, lo, hi)
        shown = (f"{a} - {b}{_at(cond.name)} = {diff:+.2f} points (CI {lo:+.2f} to {hi:+.2f}, "
                 f"{d.n_pairs} seeds; Holm p {d.p_holm:.3g}, TOST p {d.p_tost_holm:.3g}): "
                 f"{decision}" + (f" within +-{d.margin:g}" if decision == "equivalent" else ""))
        if decision == "undecided":
            outcome = "undecided"
        elif self.equivalent:
            outcome = "supported" if decision == "equivalent" else "contradicted"
        elif decision == "different":
            outcome = "supported" if diff > 0 else "contradicted"
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
        band = (-d.margin, d.margin) if self.equivalent else (0.0, math.inf)
        return Verdict(outcome, shown, decide, (e,), band, "difference in points of accuracy")


@register
@dataclass(frozen=True)
class RankingTest:
    kind: ClassVar[str] = "ranking"
    ranking: tuple[str, ...] = ()
    condition: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> RankingTest:
        ranking = params.get("ranking")
        if not (isinstance(ranking, list) and len(ranking) >= 2):
            raise ConfigError(f"{where}: 'ranking' takes two or more orders, best first")
        return cls(tuple(ranking), _condition(params, where))

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        conds = _conditions(ev, self.condition)
        if not conds:
            return not_run(", ".join(self.ranking))
        return _combine([self._one(ev, c) for c in conds])

    def _one(self, ev: Evidence, cond) -> Verdict:
        counts = {"agree": 0, "reversed": 0, "equivalent": 0, "undecided": 0}
        for i, a in enumerate(self.ranking):
            for b in self.ranking[i + 1:]:
                found = _decision(cond, a, b)
                if found is None:
                    return not_run(f"the pair {a} / {b}{_at(cond.name)}")
                decision, diff = found[0], found[1]
                key = ("agree" if diff > 0 else "reversed") if decision == "different" else decision
                counts[key] += 1
        accs = {label: _accs(ev, cond, label) for label in self.ranking}
        ests = tuple(estimate(f"{k}{_at(cond.name)}", list(v.values())) for k, v in accs.items())
        means = [e.mean for e in ests]
        tau = stats.kendalltau(range(len(means)), [-m for m in means]).statistic
        total = sum(counts.values())
        text = (f"{_at(cond.name).strip() or 'overall'}: of {total} pairs the ranking implies, "
                f"{counts['agree']} differ in its direction, {counts['reversed']} the other way, "
                f"{counts['equivalent']} are equivalent within the margin and "
                f"{counts['undecided']} undecided; Kendall's tau between the stated ranking and "
                f"the mean accuracies = {tau:+.2f}")
        if counts["reversed"]:
            outcome = "contradicted"
        elif counts["agree"] == total:
            outcome = "supported"
        else:
            outcome = "undecided"
        decide = "" if outcome != "undecided" else (
            "a larger scale (deeper networks, more seeds): the published gaps are 0.1-1.8 points")
        return Verdict(outcome, text, decide, ests, None, "final test accuracy (%)")


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
        worse, better, parts, ests = [], [], [], []
        for cond, r in records:
            wider = r.sd >= 1.5 * r.sd_others and r.sd - r.sd_others >= MIN_WIDER
            narrower = r.sd_others >= 1.5 * r.sd and r.sd_others - r.sd >= MIN_WIDER
            rate, rate_others = r.bad / max(r.total, 1), r.bad_others / max(r.total_others, 1)
            spread_sig = min(1.0, r.p_spread_holm * m) < alpha
            fail_sig = min(1.0, r.p_failures_holm * m) < alpha
            if (spread_sig and wider) or (fail_sig and rate > rate_others):
                worse.append(cond.name)
            if (spread_sig and narrower) or (fail_sig and rate < rate_others):
                better.append(cond.name)
            sds = " vs ".join(f"{x:.2f}" if math.isfinite(x) else "n/a"
                              for x in (r.sd, r.sd_others))
            parts.append(f"{cond.name or 'overall'}: SD {sds}, "
                         f"{r.bad}/{r.total} failed/diverged/collapsed vs "
                         f"{r.bad_others}/{r.total_others}")
            mine = _accs(ev, cond, self.less_reliable)
            ests.append(estimate(f"{self.less_reliable}{_at(cond.name)}", list(mine.values())))
            rest = [v for lab in cond.labels if lab != self.less_reliable
                    for v in _accs(ev, cond, lab).values()]
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
        how = ("collapsed: more than 10 points below the condition's median; Holm over orders, "
               f"Bonferroni over {m} conditions")
        return Verdict(outcome, f"{text} ({how})",
                       decide, tuple(ests), None, "final test accuracy (%)")


@register
@dataclass(frozen=True)
class StableLrTest:
    kind: ClassVar[str] = "stable-lr"
    higher: str = ""
    than: str = ""

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> StableLrTest:
        return cls(_text(params, "higher", where), _text(params, "than", where))

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        sweep: dict[str, dict[float, list]] = {self.higher: {}, self.than: {}}
        for run in ev.results.runs:  # every lr, whether lr is an axis or a varied factor
            if run.label in sweep and run.status in ("done", "diverged"):
                acc = run.final_test_acc if run.status == "done" else None
                sweep[run.label].setdefault(run.lr, []).append(acc)
        if not sweep[self.higher] or not sweep[self.than]:
            return not_run(f"{self.higher} and {self.than} over a learning-rate sweep")
        a, b = lr_robustness(sweep)
        lrs = sorted({p.lr for p in a.points} | {p.lr for p in b.points})
        if len(lrs) < 2:
            return Verdict("undecided", "one learning rate: no sweep to read a limit from",
                           "sweep the learning rate (lr = [...])")
        la, lb = (r.max_stable_lr if r.max_stable_lr is not None else 0.0 for r in (a, b))

        def show(r) -> str:
            pts = ", ".join(
                f"{p.lr:g}: " + (f"{p.mean:.1f}%" if p.n else "all diverged")
                + (f" ({p.n_diverged} diverged)" if p.n_diverged and p.n else "")
                for p in r.points
            )
            return f"{r.label} largest stable lr {r.max_stable_lr or 'none'} ({pts})"

        text = (f"{show(a)}; {show(b)} (stable: no run diverged, mean within 1 point of the "
                "best)")
        if a.max_stable_lr is None and b.max_stable_lr is None:
            outcome, decide = "undecided", "neither is stable anywhere in the sweep: lower it"
        elif la > lb:
            outcome, decide = "supported", ""
        elif la < lb:
            outcome, decide = "contradicted", ""
        elif la == lrs[-1]:
            outcome, decide = "undecided", "both are stable at the top of the sweep: extend it"
        else:
            outcome, decide = "contradicted", ""
        ests = tuple(
            Estimate(f"{r.label} lr={p.lr:g}",
                     tuple(v for v in sweep[r.label][p.lr] if v is not None), p.mean,
                     math.nan, math.nan)
            for r in (a, b) for p in r.points
        )
        return Verdict(outcome, text, decide, ests, None, "mean final test accuracy (%)")


@register
@dataclass(frozen=True)
class InteractionTest:
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
            return Verdict("supported", text)
        return Verdict("undecided", text + ": no evidence of an interaction, which is not evidence"
                       " of its absence", "more seeds per condition, or levels further apart")
