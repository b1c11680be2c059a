"""The results table as one record: its columns and formatted cells, computed once from an
``Analysis``; the terminal, the HTML report, the Markdown report and a notebook render it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from layerorder.stats.analysis import Analysis
from layerorder.stats.reliability import CHANCE_POINTS, COLLAPSE_POINTS
from layerorder.stats.summary import NAN
from layerorder.stats.text import cell, p_cell


@dataclass(frozen=True)
class ResultsTable:
    """``rows`` hold text cells (not escaped: each view escapes for its format); ``status`` is
    per row '' or the worst status among the row's runs ('diverged', 'failed'), for styling."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    status: tuple[str, ...]
    note: str


def _condition(analysis: Analysis, record=None) -> tuple[str, ...]:
    """The 'condition' column (its header without ``record``, else the record's cell) when the
    analysis has several conditions; nothing otherwise."""
    if len(analysis.conditions) <= 1:
        return ()
    return ("condition",) if record is None else (record.condition,)


def results_table(analysis: Analysis, title: str) -> ResultsTable:
    several_lr = len(analysis.lrs) > 1 and "lr" not in analysis.factors
    several = len(analysis.conditions) > 1
    metric = analysis.plan.metric
    num = metric.cell
    columns = (
        *_condition(analysis),
        "order",
        *(("lr",) if several_lr else ()),
        metric.mean_title,
        "95% CI",
        "sd",
        "n",
        "Δ vs best",
        "Holm p",
        "diverged",
        "failed",
    )
    rows, status = [], []
    for row in analysis.rows:
        s = row.summary
        ci = "-" if not math.isfinite(s.ci_low) else f"{num(s.ci_low)} – {num(s.ci_high)}"
        rows.append(
            (
                *_condition(analysis, row),
                row.label,
                *((f"{row.lr:g}",) if several_lr else ()),
                num(s.mean),
                ci,
                num(s.sd),
                str(s.n),
                "-" if row.p_holm is None else num(row.delta),
                p_cell(row.p_holm),
                str(s.n_diverged),
                str(s.n_failed),
            )
        )
        status.append("failed" if s.n_failed else "diverged" if s.n_diverged else "")
    note = "Each order at its own best learning rate. " if several_lr else ""
    note += (
        "Paired by seed; p-values from paired t-tests against the best order, Holm-corrected"
        f" over all pairs{' of each condition' if several else ''}; 95% CI of the mean (t)"
    )
    if metric.is_accuracy:
        note += ", clipped to 0-100 %."
    elif metric.bounds is not None:
        lo, hi = metric.bounds
        note += f", clipped to the metric's range {lo:g} to {hi:g}."
    else:
        note += f" (not clipped: {metric.name} has no declared range)."
    if not metric.is_accuracy:
        note += f" {metric.name}: {metric.direction}."
    return ResultsTable(title, columns, tuple(rows), tuple(status), note)


def decisions_table(analysis: Analysis) -> ResultsTable:
    """One row per pair of the family: difference, CI, both tests and the decision."""
    metric = analysis.plan.metric
    num = metric.cell
    columns = (
        *_condition(analysis),
        "pair",
        metric.diff_title,
        "simultaneous CI",
        "Holm p",
        "TOST Holm p",
        "decision",
        *(("decided at",) if analysis.looks else ()),
        "seeds to decide",
    )
    rows, odd, wide = [], [], []
    for d in analysis.decisions:
        ci = "-" if not math.isfinite(d.sim_low) else f"{num(d.sim_low)} – {num(d.sim_high)}"
        decision = d.decision if d.decision != "equivalent" else f"equivalent (±{d.margin:g})"
        if d.decision == "undecided" and (d.sim_low > 0 or d.sim_high < 0):
            odd.append(f"{d.a} − {d.b}")
            decision += " *"
        if d.decision == "equivalent" and (d.sim_low < -d.margin or d.sim_high > d.margin):
            wide.append(f"{d.a} − {d.b}")
            decision += " †"
        rows.append(
            (
                *_condition(analysis, d),
                f"{d.a} − {d.b}",
                num(d.mean_diff),
                ci,
                p_cell(d.p_holm),
                p_cell(d.p_tost_holm),
                decision,
                *((str(d.decided_at or "-"),) if analysis.looks else ()),
                "-" if d.decision != "undecided" or d.n_pairs < 2
                else str(d.seeds_to_decide or "> 10000"),
            )
        )
    family = (
        f"each order against {analysis.baseline}" if analysis.baseline else "every pair"
    )
    levels = sorted({d.sim_level for d in analysis.decisions if math.isfinite(d.sim_level)})
    shown = "/".join(f"{100 * v:.3g}%" for v in levels) or "-"
    note = (
        f"Family: {family}; Holm over the family. Different: paired t-test; equivalent: "
        + (f"paired TOST within ±{metric.margin_text(analysis.margin)}."
           if analysis.margin > 0 else "not tested (no --margin given for this metric).")
        + " Simultaneous CI: the paired t interval at"
        f" {shown} confidence (alpha split over the family's pairs, Bonferroni: 1 - alpha/m, and"
        " for a pair called equivalent the interval TOST reads, 1 - 2 alpha/m), so it excludes"
        " zero only for a pair Holm calls different and lies inside the margin for a pair called"
        " equivalent. Seeds to decide: per order, for 80 % power if the difference and its SD"
        " stay as measured."
    )
    if wide:
        note += (
            f" † {', '.join(wide)}: equivalent by Holm's step-down, which decides some pairs that"
            " Bonferroni (and so this interval) would not."
        )
    if odd:
        note += (
            f" * {', '.join(odd)}: undecided although the interval excludes zero, because the"
            " sequential design decides only at its looks and these seeds lie past the last one."
        )
    if analysis.looks:
        looks = ", ".join(str(n) for n in analysis.looks)
        note += (
            f" Sequential: looks at {looks} seeds, O'Brien-Fleming alpha spending; a pair"
            " stays decided from the look that decided it."
        )
    status = tuple("" if d.decision != "undecided" else "diverged" for d in analysis.decisions)
    return ResultsTable("Decisions per pair", columns, tuple(rows), status, note)


def reliability_table(analysis: Analysis) -> ResultsTable:
    metric = analysis.plan.metric
    num = metric.cell
    columns = (
        *_condition(analysis),
        "order",
        "sd",
        "sd of the others",
        "Brown-Forsythe Holm p",
        "failed/collapsed",
        "the others",
        "Fisher Holm p",
        "less reliable",
    )
    rows = tuple(
        (
            *_condition(analysis, c),
            c.label,
            num(c.sd),
            num(c.sd_others),
            p_cell(c.p_spread_holm),
            f"{c.bad}/{c.total}",
            f"{c.bad_others}/{c.total_others}",
            p_cell(c.p_failures_holm),
            "yes" if c.less_reliable else "-",
        )
        for c in analysis.reliability
    )
    chance = next((c.chance for c in analysis.reliability if math.isfinite(c.chance)), NAN)
    at = (f"ended within {CHANCE_POINTS:g} points of chance ({chance:.1f} %)"
          if math.isfinite(chance) else "(chance level unknown: not counted)")
    if metric.is_accuracy:
        bad = (f" failed (diverged, did not finish or {at}) or collapsed (more than"
               f" {COLLAPSE_POINTS:g} points below the median of the same order's other seeds),")
    else:
        bad = (" failed (diverged, did not finish or never reported"
               f" {metric.name}; no chance level or collapse on this metric's scale),")
    note = (
        f"Each order against the others: spread of final {metric.noun} over the seeds that"
        " did not fail (Brown-Forsythe on absolute deviations from each order's median) and runs"
        f" that{bad} Fisher's exact test; Holm over the orders. A slower order is not a less"
        " reliable one."
    )
    status = tuple("diverged" if c.less_reliable else "" for c in analysis.reliability)
    return ResultsTable("Reliability", columns, rows, status, note)


def speed_table(analysis: Analysis) -> ResultsTable:
    """Epochs to a target accuracy, pair by pair (``stats.speed``): its own table, never read
    as reliability."""
    columns = (*_condition(analysis), "target (%)", "order a", "median epochs a", "order b",
               "median epochs b", "a first / b first / tied", "sign test Holm p", "faster")
    rows, status = [], []
    for s in analysis.speed:
        medians = {o.label: o.median_epochs for o in s.orders}
        for p in s.pairs:
            winner = p.faster(s.alpha)
            rows.append((
                *_condition(analysis, s),
                f"{s.target:.1f}", p.a, _epochs_cell(medians.get(p.a)), p.b,
                _epochs_cell(medians.get(p.b)), f"{p.a_first} / {p.b_first} / {p.ties}",
                p_cell(p.p_holm), winner or "-",
            ))
            status.append("")
    note = (
        "Epochs each order needs to reach the target: the lowest final accuracy of a run that"
        " did not fail or collapse in that condition, so every such run gets there and the"
        " question is when. Seeds paired; the exact sign test on which order got there first"
        " (ties dropped), Holm over the pairs. A slower order is not a less reliable one."
    )
    return ResultsTable("Speed: epochs to a target accuracy", columns, tuple(rows),
                        tuple(status), note)


def _epochs_cell(median: float | None) -> str:
    return "never" if median is None else f"{median:g}"


def interaction_table(analysis: Analysis) -> ResultsTable:
    columns = ("factor", "F", "df", "p (ANOVA)", "p (aligned ranks)", "Shapiro p", "used")
    rows = tuple(
        (
            i.factor,
            cell(i.f_anova),
            f"{i.df_num:g}, {i.df_den:g}",
            p_cell(i.p_anova),
            p_cell(i.p_rank),
            p_cell(i.p_normal),
            i.test,
        )
        for i in analysis.interactions
    )
    note = (
        "Order x factor interaction: nested linear models with seeds as blocks (statsmodels);"
        " the aligned-rank version is used when the residuals are not normal (Shapiro p < 0.05)."
    )
    status = tuple("" for _ in rows)
    return ResultsTable("Does the effect of the order depend on the factor?", columns, rows,
                        status, note)


def effect_reference(analysis: Analysis) -> str:
    """The order the others are measured against across conditions: the baseline, else the
    order with the best mean over all conditions."""
    if analysis.baseline:
        return analysis.baseline
    means: dict[str, list[float]] = {}
    for row in analysis.rows:
        if math.isfinite(row.summary.mean):
            means.setdefault(row.label, []).append(row.summary.mean)
    if not means:
        return analysis.labels[0] if analysis.labels else ""
    return analysis.plan.metric.best({k: sum(v) / len(v) for k, v in means.items()})
