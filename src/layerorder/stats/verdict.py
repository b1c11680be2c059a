"""The plain-language verdict of ``layerorder compare``: which order is best, and how sure."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layerorder.stats.decisions import PairDecision
from layerorder.stats.metric import ACCURACY_METRIC, Metric
from layerorder.stats.paired import PairComparison
from layerorder.stats.power import min_detectable_difference, seeds_needed
from layerorder.stats.reliability import SpreadComparison
from layerorder.stats.summary import NAN, OrderSummary
from layerorder.stats.text import format_p, join_names

MAX_SEEDS = 10_000


@dataclass(frozen=True)
class Verdict:
    """Outcome of comparing the best order (highest mean) with every other order.

    ``significant_over``: orders the best one beats with Holm p < alpha (and a higher
    mean). ``not_significant_over``: every other order, including those that could
    not be tested. ``min_detectable`` (points) and ``seeds_needed_for_half_point``
    use the median SD of the paired differences between best and the others, and the
    median number of pairs (see ``make_verdict``).
    """

    best: str
    significant_over: tuple[str, ...]
    not_significant_over: tuple[str, ...]
    text: str
    min_detectable: float
    seeds_needed_for_half_point: int | None
    alpha: float

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<p><strong>Verdict</strong>: {html.escape(self.text)}</p>"


@dataclass(frozen=True)
class _Edge:
    """best vs one other order, oriented so that ``diff`` is best - other."""

    other: OrderSummary
    diff: float
    p_holm: float
    n_pairs: int
    sd_diff: float


def _pick_best(summaries: Sequence[OrderSummary], metric: Metric) -> OrderSummary | None:
    best = None
    for summary in summaries:
        if math.isfinite(summary.mean) and (best is None or metric.better(summary.mean, best.mean)):
            best = summary
    return best


def _edge(best: OrderSummary, other: OrderSummary, pairs: Sequence[PairComparison]) -> _Edge:
    for pair in pairs:
        if (pair.a, pair.b) in ((best.label, other.label), (other.label, best.label)):
            sign = 1.0 if pair.a == best.label else -1.0
            return _Edge(other, sign * pair.mean_diff, pair.p_holm, pair.n_pairs, pair.sd_diff)
    return _Edge(other, NAN, NAN, 0, NAN)


def _power_numbers(
    edges: Sequence[_Edge], alpha: float, power: float, target_delta: float
) -> tuple[int, float, float, int | None]:
    """(n, sd, min detectable difference, seeds needed) from the medians over ``edges``."""
    usable = [e for e in edges if e.n_pairs >= 2 and math.isfinite(e.sd_diff)]
    if not usable:
        return 0, NAN, NAN, None
    sd = float(np.median([e.sd_diff for e in usable]))
    n = int(np.median([e.n_pairs for e in usable]))
    mdd = min_detectable_difference(sd, n, alpha=alpha, power=power)
    needed = (seeds_needed(sd, target_delta, alpha=alpha, power=power, max_n=MAX_SEEDS)
              if target_delta > 0 else None)
    return n, sd, mdd, needed


def _described(edges: Sequence[_Edge], alpha: float, metric: Metric) -> str:
    parts = [
        f"{e.other.label} ({metric.diff_text(e.diff)}, Holm p {format_p(e.p_holm, alpha)})"
        for e in edges
    ]
    return join_names(parts)


def _power_sentence(
    n: int, mdd: float, needed: int | None, power: float, target_delta: float, span: float,
    metric: Metric = ACCURACY_METRIC,
) -> str:
    target = (f"a {target_delta:g}-point difference" if metric.is_accuracy
              else f"a difference of {target_delta:g}")
    more = (
        f"more than {MAX_SEEDS} seeds per order" if needed is None else f"about {needed} seeds"
        " per order"
    )
    if mdd >= span and target_delta > 0:  # no difference in the range is detectable: say so
        return (
            f"With {n} seeds there are too few to detect any difference at {power:.0%} power;"
            f" {more} would be needed to detect {target}."
        )
    head = (
        f"With {n} seeds the smallest difference this comparison can detect at "
        f"{power:.0%} power is {metric.diff_text(mdd, signed=False)}; "
    )
    if target_delta <= 0:  # a metric of the user's own without a margin: no size to aim at
        return head[:-2] + "."
    if needed is None:
        return head + f"more than {MAX_SEEDS} seeds per order would be needed to detect {target}."
    if needed <= n:
        return head + f"{target} would most likely have been detected."
    return head + f"about {needed} seeds per order would be needed to detect {target}."


def _excluded_sentence(summaries: Sequence[OrderSummary]) -> str:
    parts = []
    for s in summaries:
        total = s.n + s.n_diverged + s.n_failed
        if s.n_diverged:
            parts.append(f"{s.n_diverged} of {total} runs of {s.label} diverged")
        if s.n_failed:
            parts.append(f"{s.n_failed} of {total} runs of {s.label} failed")
    return f"Excluded from the means: {'; '.join(parts)}." if parts else ""


def _comparison_sentences(
    best: OrderSummary, groups: dict[str, list[_Edge]], any_significant: bool, alpha: float,
    sequential: bool = False, metric: Metric = ACCURACY_METRIC,
) -> list[str]:
    """In a sequential design a pair is decided at its look's level, not by its Holm p over all
    seeds (which is still shown), and the wording says so."""
    sentences = []
    if groups["significant"]:
        better = "was decided better" if sequential else "is significantly better"
        sentences.append(f"It {better} than {_described(groups['significant'], alpha, metric)}.")
    rule = (
        "at the sequential design's levels; Holm p over all seeds shown"
        if sequential
        else f"every Holm-adjusted p >= {alpha:g}"
    )
    if groups["tested"] and not any_significant:
        sentences.append(
            f"There is no {'decided' if sequential else 'significant'} difference between the"
            f" orders ({rule}): {best.label} vs {_described(groups['tested'], alpha, metric)}."
        )
    elif groups["tested"]:
        head = (
            "Not decided different (sequential design)"
            if sequential
            else f"No significant difference (Holm p >= {alpha:g})"
        )
        sentences.append(f"{head} from {_described(groups['tested'], alpha, metric)}.")
    for e in groups["contradictory"]:
        why = ("a sequential design trains later seeds only for undecided pairs" if sequential
               else "rerun the missing seeds")
        sentences.append(
            f"The paired test against {e.other.label} ({metric.diff_text(e.diff)} on "
            f"{e.n_pairs} common seeds, Holm p {format_p(e.p_holm, alpha)}) disagrees with "
            f"the means over all finished runs; {why}."
        )
    if groups["untested"]:
        names = join_names([e.other.label for e in groups["untested"]])
        sentences.append(
            f"No test against {names}: a significance test needs at least 2 seeds "
            f"finished by both orders."
        )
    return sentences


def _group(
    best: OrderSummary, edges: Sequence[_Edge], alpha: float, decided: dict | None = None,
    metric: Metric = ACCURACY_METRIC,
) -> dict[str, list[_Edge]]:
    """Edges by outcome. ``decided``: other label -> that pair's ``PairDecision``; a pair counts
    as significant when it was decided 'different' (a sequential design's looks) or is inside
    the margin with a Holm p below alpha, rather than by its final Holm p alone."""
    groups: dict[str, list[_Edge]] = {
        "significant": [],
        "tested": [],
        "contradictory": [],
        "untested": [],
    }
    for e in edges:
        d = (decided or {}).get(e.other.label)
        different = (
            e.p_holm < alpha
            if d is None
            else d.decision == "different" or (d.decision == "equivalent" and e.p_holm < alpha)
        )
        if e.n_pairs < 2 or math.isnan(e.p_holm):
            groups["untested"].append(e)
        elif not different:
            groups["tested"].append(e)
        elif metric.gain(e.diff) > 0 and metric.better(best.mean, e.other.mean):
            groups["significant"].append(e)
        else:
            groups["contradictory"].append(e)
    return groups


def make_verdict(
    summaries: Sequence[OrderSummary],
    pairs: Sequence[PairComparison],
    *,
    alpha: float = 0.05,
    target_delta: float = 0.5,
    power: float = 0.8,
    span: float | None = None,
    decisions: Sequence[PairDecision] = (),
    reliability: Sequence[SpreadComparison] = (),
    baseline: str | None = None,
    sequential: bool = False,
    metric: Metric = ACCURACY_METRIC,
) -> Verdict:
    """The verdict for ``summaries`` (one per order) and ``pairs`` (from ``compare_pairs``).

    best = the best mean by ``metric`` (the highest for accuracy; the lowest for a loss; ties: the
    first). Another order is significantly worse when its pair with best has ``p_holm < alpha``
    and best's mean (and the paired mean difference) is better. ``span``: the width of the
    metric's range (default: the metric's own). ``min_detectable`` and
    ``seeds_needed_for_half_point`` use the median SD of the paired differences between best
    and the other orders, and the median number of pairs (a typical comparison, not the
    luckiest or unluckiest one).
    ``decisions`` (from ``decide_pairs``) add which pairs are equivalent within the margin or
    undecided, and how many seeds would decide them; ``reliability`` (from ``compare_spread``)
    adds which orders train less reliably; with ``baseline`` the comparisons are each order
    against that one.
    """
    if not summaries:
        raise ValueError("make_verdict needs at least one OrderSummary")
    best = _pick_best(summaries, metric)
    span = metric.span if span is None else span  # no difference exceeds the metric's range
    show = metric.summary_text
    if best is None:
        text = "No order has a finished run yet; there is nothing to compare."
        return Verdict("", (), (), text, NAN, None, alpha)
    edges = [_edge(best, s, pairs) for s in summaries if s.label != best.label]
    decided = {
        (d.b if d.a == best.label else d.a): d for d in decisions if best.label in (d.a, d.b)
    }
    groups = _group(best, edges, alpha, decided if decisions else None, metric)
    if not metric.is_accuracy:  # half a point is accuracy's; another metric aims at its margin
        target_delta = min((d.margin for d in decisions), default=0.0)
    n, _, mdd, needed = _power_numbers(edges, alpha, power, target_delta)
    any_significant = (
        any(
            d.decision == "different" or (d.decision == "equivalent" and d.p_holm < alpha)
            for d in decisions
        )
        if decisions
        else any(p.p_holm < alpha for p in pairs)
    )
    if baseline is not None and edges:
        sentences = [] if best.label == baseline else [
            f"{best.label} has the {'highest' if metric.higher_is_better else 'lowest'} mean:"
            f" {show(best.mean, best.sd, best.n)}."
        ]
        sentences.append(baseline_sentence(decisions, baseline, summaries, alpha, metric))
    elif edges:
        sentences = [f"{best.label} is best: {show(best.mean, best.sd, best.n)}."]
        sentences += _comparison_sentences(best, groups, any_significant, alpha, sequential,
                                           metric)
        sentences += _decision_sentences(best.label, decided, alpha, metric)
        sentences += _other_pairs_sentence(best.label, decisions, alpha, metric)
    else:
        sentences = [
            f"Only one order was run: {best.label}, {show(best.mean, best.sd, best.n)}; "
            "there is nothing to compare it with."
        ]
    if not metric.is_accuracy:  # say which way is better before any number is read
        first = next((i for i, s in enumerate(sentences) if s), None)
        if first is None:
            sentences.append(f"{metric.name}: {metric.direction}.")
        else:
            sentences[first] = f"{sentences[first][:-1]} ({metric.name}: {metric.direction})."
    if groups["tested"] and math.isfinite(mdd) and baseline is None:
        sentences.append(_power_sentence(n, mdd, needed, power, target_delta, span, metric))
    if decisions and not any(d.margin > 0 for d in decisions):
        sentences.append("No equivalence margin was given (--margin, in the metric's units), so"
                         " no pair can be called equivalent; only differences are tested.")
    sentences += reliability_sentences(reliability, alpha, metric)
    sentences.append(_excluded_sentence(summaries))
    significant = tuple(e.other.label for e in groups["significant"])
    return Verdict(
        best=best.label,
        significant_over=significant,
        not_significant_over=tuple(
            e.other.label for e in edges if e.other.label not in significant
        ),
        text=" ".join(s for s in sentences if s),
        min_detectable=min(mdd, span) if math.isfinite(mdd) else mdd,
        seeds_needed_for_half_point=needed,
        alpha=alpha,
    )


def _oriented(d: PairDecision, ref: str) -> tuple[str, float]:
    """(the other order, its difference from ``ref`` in points)."""
    return (d.a, d.mean_diff) if d.b == ref else (d.b, -d.mean_diff)


def _more(d: PairDecision) -> str:
    if d.seeds_to_decide is None:
        return f"more than {MAX_SEEDS} seeds per order would be needed to decide it"
    return f"about {d.seeds_to_decide} seeds per order would decide it"


def pair_phrase(d: PairDecision, ref: str, alpha: float,
                metric: Metric = ACCURACY_METRIC) -> str:
    """One pair against ``ref`` in words: 'act-first is 0.9 points worse than standard (Holm
    p = 0.003)', '... equivalent to standard within ±0.5 points', '... undecided ...'."""
    other, diff = _oriented(d, ref)
    if d.decision == "different":
        side = "better" if metric.gain(diff) > 0 else "worse"
        p = format_p(d.p_holm, alpha)
        early = d.decided_at and d.decided_at < d.n_pairs
        at = f", decided at {d.decided_at} seeds" if early else ""
        size = metric.diff_text(diff, signed=False)
        return f"{other} is {size} {side} than {ref} (Holm p {p}{at})"
    if d.decision == "equivalent":
        return (
            f"{other} is equivalent to {ref} within ±{metric.margin_text(d.margin)}"
            f" ({metric.diff_text(diff)}, TOST Holm p {format_p(d.p_tost_holm, alpha)})"
        )
    if d.n_pairs < 2:
        return f"{other} vs {ref} is untested (fewer than 2 common seeds)"
    return f"{other} vs {ref} is undecided ({metric.diff_text(diff)}; {_more(d)})"





def baseline_sentence(
    decisions: Sequence[PairDecision], baseline: str, summaries: Sequence[OrderSummary],
    alpha: float, metric: Metric = ACCURACY_METRIC,
) -> str:
    base = next((s for s in summaries if s.label == baseline), None)
    head = f"Against the baseline {baseline}"
    if base is not None and math.isfinite(base.mean):
        head += f", {metric.summary_text(base.mean, base.sd, base.n)}"
    phrases = [pair_phrase(d, baseline, alpha, metric)
               for d in decisions if baseline in (d.a, d.b)]
    return f"{head}: {'; '.join(phrases)}." if phrases else ""


def _decision_sentences(best: str, decided: dict, alpha: float,
                        metric: Metric = ACCURACY_METRIC) -> list[str]:
    """Which orders are equivalent to the best one within the margin, and which are undecided
    (and what would decide them)."""
    out = []
    same = [d for d in decided.values() if d.decision == "equivalent"]
    if same:
        out.append(f"{join_names([pair_phrase(d, best, alpha, metric) for d in same])}.")
    open_ = [d for d in decided.values() if d.decision == "undecided" and d.n_pairs >= 2]
    if open_:
        parts = [pair_phrase(d, best, alpha, metric) for d in open_]
        head = (f"Neither different nor equivalent within ±{metric.margin_text(open_[0].margin)}"
                if open_[0].margin > 0 else "Not decided different")
        out.append(f"{head}: {'; '.join(parts)}.")
    return out


def _other_pairs_sentence(best: str, decisions: Sequence[PairDecision], alpha: float,
                          metric: Metric = ACCURACY_METRIC) -> list[str]:
    """The pairs without the best order that were decided (different or equivalent)."""
    decided = [d for d in decisions if best not in (d.a, d.b) and d.decision != "undecided"]
    if not decided:
        return []
    phrases = "; ".join(pair_phrase(d, d.b, alpha, metric) for d in decided)
    return [f"Among the other pairs: {phrases}."]


def reliability_sentences(comparisons: Sequence[SpreadComparison], alpha: float,
                          metric: Metric = ACCURACY_METRIC) -> list[str]:
    """'X trains less reliably than the other orders: SD 4.0 vs 0.3 points (Brown-Forsythe Holm
    p = 0.001)', one sentence per order found less reliable."""
    out = []
    for c in comparisons:
        if not c.less_reliable:
            continue
        reasons = []
        if c.p_spread_holm < alpha and c.sd > c.sd_others:
            sds = (f"{c.sd:.1f} vs {c.sd_others:.1f} points" if metric.is_accuracy
                   else f"{c.sd:.4g} vs {c.sd_others:.4g}")
            reasons.append(f"SD {sds} (median of the others;"
                           f" Brown-Forsythe Holm p {format_p(c.p_spread_holm, alpha)})")
        if c.p_failures_holm < alpha:
            reasons.append(f"{c.bad} of {c.total} runs failed, diverged or collapsed against"
                           f" {c.bad_others} of {c.total_others} (Fisher Holm p"
                           f" {format_p(c.p_failures_holm, alpha)})")
        out.append(f"{c.label} trains less reliably than the other orders: "
                   f"{'; '.join(reasons)}.")
    return out


def conditional_verdict(conditions, interactions, *, alpha: float, baseline: str | None,
                        metric: Metric = ACCURACY_METRIC) -> Verdict:
    """The verdict across the levels of the varied factors: per condition, each order against
    the baseline (or the condition's best order), then whether the effect of the order depends
    on each factor (the interaction test)."""
    sentences = []
    for c in conditions:
        ref = baseline or c.verdict.best
        phrases = [pair_phrase(d, ref, alpha, metric) for d in c.decisions if ref in (d.a, d.b)]
        if not ref or not phrases:
            sentences.append(f"At {c.name}: {c.verdict.text}")
            continue
        lead = "" if baseline else f"{ref} is best at {_mean_of(c, ref, metric)}; "
        sentences.append(f"At {c.name}: {lead}{'; '.join(phrases)}.")
        sentences += [f"At {c.name}: {t}"
                      for t in reliability_sentences(c.reliability, alpha, metric)]
    for i in interactions:
        if math.isnan(i.p):
            sentences.append(f"The interaction with {i.factor} cannot be tested: it needs at"
                             " least 2 seeds per condition.")
            continue
        test = ("F-test on aligned ranks (residuals not normal)" if i.test == "aligned ranks"
                else "two-way ANOVA, seeds as blocks")
        if i.p < alpha:
            sentences.append(f"The effect of the order depends on {i.factor} (interaction p"
                             f" {format_p(i.p, alpha)}, {test}).")
        else:
            sentences.append(f"No evidence that the effect of the order depends on {i.factor}"
                             f" (interaction p {format_p(i.p, alpha)}, {test}).")
    best = {c.verdict.best for c in conditions}
    return Verdict(
        best=best.pop() if len(best) == 1 else "",
        significant_over=(),
        not_significant_over=(),
        text=" ".join(sentences),
        min_detectable=NAN,
        seeds_needed_for_half_point=None,
        alpha=alpha,
    )


def _mean_of(condition, label: str, metric: Metric = ACCURACY_METRIC) -> str:
    row = next((r for r in condition.rows if r.label == label), None)
    if row is None:
        return ""
    return metric.summary_text(row.summary.mean, row.summary.sd, row.summary.n)
