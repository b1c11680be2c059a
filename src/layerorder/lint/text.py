"""The terminal's view of a lint report, as rich renderables: ``layerorder lint`` prints them in
colour, ``str(report)`` as plain text (``layerorder.terminal.as_text``)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from layerorder.lint.rules import RULES_BY_ID, severity_rank
from layerorder.modelgraph.formats import FORMATS
from layerorder.terminal import shown

# a ``layerorder.lint.report.LintReport`` (this module is the report's view: it imports nothing
# of the report's module)
LintReport = Any

STYLE = {"info": "cyan", "warning": "yellow", "error": "red"}  # a severity's colour
TOP = 20  # patterns shown
# how the model was read, in words
MODE_NAMES = {
    "fx": "torch.fx trace",
    "hooks": "forward hooks (one run, in execution order)",
    "torchscript": "TorchScript graphs (read, not run)",
    **{f.name: f.mode_name for f in FORMATS.values()},
}


def _census_table(report: LintReport, top: int) -> Table:
    table = Table()
    table.add_column("pattern")
    table.add_column("count", justify="right")
    for c in report.census[:top]:
        table.add_row(shown(c.pattern), str(c.count))
    return table


def _findings(report: LintReport) -> list[str]:
    out = []
    for rule_id, findings in report.by_rule().items():
        rule = RULES_BY_ID[rule_id]
        # a finding may be milder than its rule (an embedding norm's norm-after-norm is a note)
        severity = max((f.severity for f in findings), key=severity_rank)
        style = STYLE[severity]
        out.append(f"\n[{style}]{severity}[/{style}] [bold]{rule.id}[/bold]:"
                   f" {shown(rule.title)} ({len(findings)})")
        out += [f"  [bold]{shown(f.path)}[/bold]: {shown(f.message)}" for f in findings]
        wasted = sum(f.wasted_params for f in findings)
        if wasted:
            out.append(f"  wasted parameters: {wasted:,}")
        if any(f.severity == rule.severity for f in findings):  # notes carry their own why
            out.append(f"  [dim]why: {shown(rule.why)} ({shown(rule.reference)})[/dim]")
            out.append(f"  [dim]fix: {shown(rule.fix)}[/dim]")
    return out


def _stacks(report: LintReport) -> list[str]:
    """One line per Transformer stack: its blocks' placement and its final norm."""
    lines = []
    for stack in report.stacks:
        first, last = stack.blocks[0].path, stack.blocks[-1].path
        where = first if first == last else f"{first} .. {last}"
        final = (f"final norm {stack.final_norm}" if stack.final_norm
                 else "no final norm" if stack.needs_final_norm else "")
        n = len(stack.blocks)
        lines.append(f"  {shown(where or '(top level)')}: {n} {stack.placement} block"
                     f"{'s' if n != 1 else ''}{', ' + shown(final) if final else ''}")
    return ["\nTransformer stacks:", *lines] if lines else []


def _folds(report: LintReport) -> list[str]:
    if not report.folds:
        return []
    prev = sum(p.into == "previous" for p in report.folds)
    nxt = sum(p.into == "next" for p in report.folds)
    none = len(report.folds) - prev - nxt
    return [f"\nBatchNorm folding: {prev} into the layer before, {nxt} into the layer after,"
            f" {none} not foldable",
            *(f"  {shown(p.norm)}: {shown(p.reason)}" for p in report.folds
              if p.into != "previous")]


def _plural(n: int, severity: str) -> str:
    return f"{n} {severity}" + ("s" if n != 1 and severity != "info" else "")


def lint_view(report: LintReport, top: int = TOP) -> list[Any]:
    """What ``layerorder lint`` prints: the roles and how the model was read, the most common
    patterns, each rule's findings with why and how to fix, the BN folds and the counts."""
    roles = ", ".join(f"{n} {r}" for r, n in report.roles)
    note = f"; {report.mode_note}" if report.mode_note else ""
    out: list[Any] = [f"[bold]{shown(report.target)}[/bold]: {roles}",
                      f"mode: {MODE_NAMES[report.mode]}{shown(note)}"]
    if report.census:
        out += [f"\npatterns along the data flow (top {min(top, len(report.census))}):",
                _census_table(report, top)]
    out += _stacks(report) + _findings(report) + _folds(report)
    counts = report.counts()
    summary = ", ".join(_plural(counts[s], s) for s in reversed(counts) if counts[s])
    return [*out, f"\n{summary or 'no findings'}"]
