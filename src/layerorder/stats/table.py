"""The results table as one record: its columns and formatted cells, computed once from an
``Analysis``; the terminal, the HTML report, the Markdown report and a notebook render it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from layerorder.stats.analysis import Analysis


def cell(value: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals; '-' for a missing or non-finite one."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def p_cell(p: float | None) -> str:
    """A Holm-adjusted p-value as every view shows it: 'best', '-', '<0.001' or 3 decimals."""
    if p is None:
        return "best"
    if math.isnan(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class ResultsTable:
    """``rows`` hold text cells (not escaped: each view escapes for its format); ``status`` is
    per row '' or the worst status among the row's runs ('diverged', 'failed'), for styling."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    status: tuple[str, ...]
    note: str


def results_table(analysis: Analysis, title: str) -> ResultsTable:
    several_lr = len(analysis.lrs) > 1
    columns = (
        "order",
        *(("lr",) if several_lr else ()),
        "mean %",
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
        ci = "-" if not math.isfinite(s.ci_low) else f"{cell(s.ci_low)} – {cell(s.ci_high)}"
        rows.append(
            (
                row.label,
                *((f"{row.lr:g}",) if several_lr else ()),
                cell(s.mean),
                ci,
                cell(s.sd),
                str(s.n),
                "-" if row.p_holm is None else cell(row.delta),
                p_cell(row.p_holm),
                str(s.n_diverged),
                str(s.n_failed),
            )
        )
        status.append("failed" if s.n_failed else "diverged" if s.n_diverged else "")
    note = "Each order at its own best learning rate. " if several_lr else ""
    note += (
        "Paired by seed; p-values from paired t-tests, Holm-corrected over all pairs;"
        " 95% CI of the mean (t), clipped to 0-100 %."
    )
    return ResultsTable(title, columns, tuple(rows), tuple(status), note)
