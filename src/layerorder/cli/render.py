"""Terminal rendering of analysis records (tables and the verdict)."""

from __future__ import annotations

import dataclasses
import math

from rich.markup import escape
from rich.table import Table

from layerorder.cli.console import fmt, out
from layerorder.stats.analysis import Analysis


def _p(p: float | None) -> str:
    if p is None:
        return "best"
    if math.isnan(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def results_table(analysis: Analysis, title: str) -> Table:
    table = Table(title=escape(title))
    several_lr = len(analysis.lrs) > 1
    cols = [
        "order",
        "lr" if several_lr else None,
        "test acc % (mean ± 95% CI)",
        "sd",
        "n",
        "Δ vs best",
        "Holm p",
        "diverged",
        "failed",
    ]
    for col in filter(None, cols):
        table.add_column(col, justify="left" if col == "order" else "right")
    for row in analysis.rows:
        s = row.summary
        half = (s.ci_high - s.ci_low) / 2 if math.isfinite(s.ci_high) else math.nan
        acc = f"{fmt(s.mean)} ± {fmt(half)}" if s.n else "-"
        cells = [
            escape(row.label),
            f"{row.lr:g}" if several_lr else None,
            acc,
            fmt(s.sd),
            str(s.n),
            fmt(row.delta, 2) if row.p_holm is not None else "-",
            _p(row.p_holm),
            str(s.n_diverged),
            str(s.n_failed),
        ]
        table.add_row(*[c for c in cells if c is not None])
    return table


def lr_table(analysis: Analysis) -> Table:
    table = Table(title="Learning-rate sweep: mean test accuracy % (diverged runs)")
    table.add_column("order")
    for lr in analysis.lrs:
        table.add_column(f"lr {lr:g}", justify="right")
    table.add_column("largest stable lr", justify="right")
    for item in analysis.lr_table:
        by_lr = {p.lr: p for p in item.points}
        cells = []
        for lr in analysis.lrs:
            p = by_lr.get(lr)
            cells.append("-" if p is None else f"{fmt(p.mean)} ({p.n_diverged})")
        stable = "none" if item.max_stable_lr is None else f"{item.max_stable_lr:g}"
        table.add_row(escape(item.label), *cells, stable)
    return table


def print_analysis(analysis: Analysis, title: str) -> None:
    out.print(results_table(analysis, title))
    if analysis.lr_table:
        out.print(lr_table(analysis))
        out.print("Each order is compared at its own best learning rate.")
    out.print()
    out.print(f"[bold]Verdict[/bold]: {escape(analysis.verdict.text)}")


def analysis_dict(analysis: Analysis) -> dict:
    return dataclasses.asdict(analysis)
