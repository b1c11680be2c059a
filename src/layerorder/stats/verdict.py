"""The plain-language verdict of ``layerorder compare``: which order is best, and how sure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layerorder.stats.paired import PairComparison
from layerorder.stats.power import min_detectable_difference, seeds_needed
from layerorder.stats.summary import NAN, OrderSummary
from layerorder.stats.text import format_accuracy, format_p, format_points, join_names

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


@dataclass(frozen=True)
class _Edge:
    """best vs one other order, oriented so that ``diff`` is best - other."""

    other: OrderSummary
    diff: float
    p_holm: float
    n_pairs: int
    sd_diff: float


def _pick_best(summaries: Sequence[OrderSummary]) -> OrderSummary | None:
    best = None
    for summary in summaries:
        if math.isfinite(summary.mean) and (best is None or summary.mean > best.mean):
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
    needed = seeds_needed(sd, target_delta, alpha=alpha, power=power, max_n=MAX_SEEDS)
    return n, sd, mdd, needed


def _described(edges: Sequence[_Edge], alpha: float) -> str:
    parts = [
        f"{e.other.label} ({format_points(e.diff)}, Holm p {format_p(e.p_holm, alpha)})"
        for e in edges
    ]
    return join_names(parts)


def _power_sentence(
    n: int, mdd: float, needed: int | None, power: float, target_delta: float, span: float
) -> str:
    target = f"a {target_delta:g}-point difference"
    more = (
        f"more than {MAX_SEEDS} seeds per order" if needed is None else f"about {needed} seeds"
        " per order"
    )
    if mdd >= span:  # no difference inside the metric's range is detectable: say so plainly
        return (
            f"With {n} seeds there are too few to detect any difference at {power:.0%} power;"
            f" {more} would be needed to detect {target}."
        )
    head = (
        f"With {n} seeds the smallest difference this comparison can detect at "
        f"{power:.0%} power is {mdd:.1f} points; "
    )
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
    best: OrderSummary, groups: dict[str, list[_Edge]], any_significant: bool, alpha: float
) -> list[str]:
    sentences = []
    if groups["significant"]:
        sentences.append(
            f"It is significantly better than {_described(groups['significant'], alpha)}."
        )
    if groups["tested"] and not any_significant:
        sentences.append(
            f"There is no significant difference between the orders (every Holm-adjusted "
            f"p >= {alpha:g}): {best.label} vs {_described(groups['tested'], alpha)}."
        )
    elif groups["tested"]:
        sentences.append(
            f"No significant difference (Holm p >= {alpha:g}) from "
            f"{_described(groups['tested'], alpha)}."
        )
    for e in groups["contradictory"]:
        sentences.append(
            f"The paired test against {e.other.label} ({format_points(e.diff)} on "
            f"{e.n_pairs} common seeds, Holm p {format_p(e.p_holm, alpha)}) disagrees with "
            f"the means over all finished runs; rerun the missing seeds."
        )
    if groups["untested"]:
        names = join_names([e.other.label for e in groups["untested"]])
        sentences.append(
            f"No test against {names}: a significance test needs at least 2 seeds "
            f"finished by both orders."
        )
    return sentences


def _group(best: OrderSummary, edges: Sequence[_Edge], alpha: float) -> dict[str, list[_Edge]]:
    groups: dict[str, list[_Edge]] = {
        "significant": [],
        "tested": [],
        "contradictory": [],
        "untested": [],
    }
    for e in edges:
        if e.n_pairs < 2 or math.isnan(e.p_holm):
            groups["untested"].append(e)
        elif e.p_holm >= alpha:
            groups["tested"].append(e)
        elif e.diff > 0 and best.mean > e.other.mean:
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
    span: float = 100.0,
) -> Verdict:
    """The verdict for ``summaries`` (one per order) and ``pairs`` (from ``compare_pairs``).

    best = highest mean (ties: the first). Another order is significantly worse when
    its pair with best has ``p_holm < alpha`` and best's mean (and the paired mean
    difference) is higher. ``min_detectable`` and ``seeds_needed_for_half_point`` use
    the median SD of the paired differences between best and the other orders, and the
    median number of pairs (a typical comparison, not the luckiest or unluckiest one).
    """
    if not summaries:
        raise ValueError("make_verdict needs at least one OrderSummary")
    best = _pick_best(summaries)
    if best is None:
        text = "No order has a finished run yet; there is nothing to compare."
        return Verdict("", (), (), text, NAN, None, alpha)
    edges = [_edge(best, s, pairs) for s in summaries if s.label != best.label]
    groups = _group(best, edges, alpha)
    n, _, mdd, needed = _power_numbers(edges, alpha, power, target_delta)
    any_significant = any(p.p_holm < alpha for p in pairs)
    if edges:
        sentences = [f"{best.label} is best: {format_accuracy(best.mean, best.sd, best.n)}."]
        sentences += _comparison_sentences(best, groups, any_significant, alpha)
    else:
        sentences = [
            f"Only one order was run: {best.label}, {format_accuracy(best.mean, best.sd, best.n)}; "
            "there is nothing to compare it with."
        ]
    if groups["tested"] and math.isfinite(mdd):
        sentences.append(_power_sentence(n, mdd, needed, power, target_delta, span))
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
