"""Terminal rendering of analysis records (tables and the verdict)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from layerorder.cli.console import fmt, out
from layerorder.stats.analysis import Analysis
from layerorder.stats.table import ResultsTable


def rich_table(table: ResultsTable) -> Table:
    out_table = Table(title=escape(table.title), caption=escape(table.note))
    for i, col in enumerate(table.columns):
        out_table.add_column(col, justify="left" if i == 0 else "right")
    for row in table.rows:
        out_table.add_row(*(escape(c) for c in row))
    return out_table


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


def print_analysis(analysis: Analysis, table: ResultsTable) -> None:
    from layerorder.stats.table import decisions_table, interaction_table, reliability_table

    out.print(rich_table(table))
    if analysis.decisions:
        out.print(rich_table(decisions_table(analysis)))
    if any(c.less_reliable for c in analysis.reliability):
        out.print(rich_table(reliability_table(analysis)))
    if analysis.interactions:
        out.print(rich_table(interaction_table(analysis)))
    if analysis.lr_table:
        out.print(lr_table(analysis))
        out.print("Each order is compared at its own best learning rate.")
    out.print()
    out.print(f"[bold]Verdict[/bold]: {escape(analysis.verdict.text)}")
    for speed in analysis.speed:  # its own line: a slower order is not a less reliable one
        where = f" [{speed.condition}]" if speed.condition else ""
        out.print(f"[bold]Speed[/bold] (not reliability){escape(where)}: {escape(speed.text())}")

