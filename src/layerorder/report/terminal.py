"""The terminal's view of analysis and probe records, as rich renderables: the command line
prints them in colour, a result's ``__str__`` as plain text (``layerorder.terminal.as_text``).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from rich.table import Table

from layerorder.stats.table import decisions_table, interaction_table, reliability_table
from layerorder.stats.text import fmt
from layerorder.terminal import shown

if TYPE_CHECKING:
    from layerorder.experiment.training.probing import OrderProbe
    from layerorder.stats.analysis import Analysis
    from layerorder.stats.table import ResultsTable


def rich_table(table: ResultsTable) -> Table:
    out_table = Table(title=shown(table.title), caption=shown(table.note))
    for i, col in enumerate(table.columns):
        out_table.add_column(col, justify="left" if i == 0 else "right")
    for row in table.rows:
        out_table.add_row(*(shown(c) for c in row))
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
        table.add_row(shown(item.label), *cells, stable)
    return table


def analysis_view(analysis: Analysis, table: ResultsTable) -> list[Any]:
    """What ``compare`` prints: the results table, the decisions, reliability, interactions and
    learning-rate tables where there are any, the verdict and the speed lines."""
    out: list[Any] = [rich_table(table)]
    if analysis.decisions:
        out.append(rich_table(decisions_table(analysis)))
    if any(c.less_reliable for c in analysis.reliability):
        out.append(rich_table(reliability_table(analysis)))
    if analysis.interactions:
        out.append(rich_table(interaction_table(analysis)))
    if analysis.lr_table:
        out += [lr_table(analysis), "Each order is compared at its own best learning rate."]
    out += ["", f"[bold]Verdict[/bold]: {shown(analysis.verdict.text)}"]
    for speed in analysis.speed:  # its own line: a slower order is not a less reliable one
        where = f" [{speed.condition}]" if speed.condition else ""
        out.append(f"[bold]Speed[/bold] (not reliability){shown(where)}: {shown(speed.text())}")
    return out


_KIND_SHORT = {"BatchNorm1d": "bn", "BatchNorm2d": "bn", "BatchNorm3d": "bn", "Dropout": "drop"}


def _short(name: str) -> str:
    return name.removeprefix("features.")


def _stage_label(s) -> str:
    return f"{_short(s.name)} {_KIND_SHORT.get(s.kind, s.kind.lower())}"


def stage_table(results: list[OrderProbe], phase: str) -> Table:
    """One row per stage position, each order's columns side by side."""
    snaps = [(r.label, (r.init if phase == "init" else r.trained).stages) for r in results]
    title = "at init" if phase == "init" else f"after {results[0].epochs} epochs"
    table = Table(title=f"Stage statistics on the probe batch, {title}")
    for label, _ in snaps:
        table.add_column(f"{shown(label)}\nstage", style="bold")
        for col in ("%>0", "skew", "std", "dead"):
            table.add_column(col, justify="right")
    for row in itertools.zip_longest(*(stages for _, stages in snaps)):
        cells = []
        for s in row:
            cells += (["", "", "", "", ""] if s is None else [
                shown(_stage_label(s)), f"{100 * s.frac_positive:.1f}", fmt(s.skewness),
                fmt(s.std), f"{s.dead_units}/{s.units}"])
        table.add_row(*cells)
    return table


def health_table(res: OrderProbe) -> Table:
    table = Table(title=f"{shown(res.label)}: gradient flow and BN variance shift (trained)")
    table.add_column("layer")
    table.add_column("|grad|/|w|", justify="right")
    table.add_column("status")
    for g in res.trained.grads:
        table.add_row(shown(_short(g.name)), f"{g.ratio:.2e}", g.status)
    for v in res.trained.varshift:
        table.add_row(shown(_short(v.name)), f"shift {v.shift:.2f}",
                      "SHIFTED" if v.flagged else "ok")
    return table


def probe_summary(results: list[OrderProbe]) -> list[str]:
    """One line per order: its accuracy, and any gradient trouble or BN variance shift."""
    from layerorder.probe.grads import flagged

    lines = []
    for res in results:
        acc = f"test {res.test_acc:.2f}%" if math.isfinite(res.test_acc) else res.status
        if res.recalibrated_acc is not None:
            acc += f", after BN recalibration {res.recalibrated_acc:.2f}%"
        bad = flagged(list(res.trained.grads))
        shifted = [v.name for v in res.trained.varshift if v.flagged]
        note = f"{res.label}: {acc} after {res.epochs} epochs"
        if bad:
            note += f"; gradient trouble: {', '.join(bad)}"
        if shifted:
            note += f"; BN variance shift in {', '.join(map(_short, shifted))}"
        lines.append(note)
    return lines


def probe_view(results: list[OrderProbe]) -> list[Any]:
    """What ``probe`` prints: the stage tables at init and trained, each order's gradient flow
    and variance shift, and one summary line per order."""
    from rich.columns import Columns

    return [stage_table(results, "init"), stage_table(results, "trained"),
            Columns([health_table(r) for r in results], equal=True),
            *(shown(line) for line in probe_summary(results))]
