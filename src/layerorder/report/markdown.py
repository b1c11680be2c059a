"""A Markdown summary with PNG figures beside it, for a README or a paper."""

from __future__ import annotations

from pathlib import Path

from layerorder.files import atomic_write_text
from layerorder.probe.chain import chain_from_rows
from layerorder.report import figures
from layerorder.report.info import ReportInfo
from layerorder.stats.table import (
    ResultsTable,
    decisions_table,
    effect_reference,
    interaction_table,
    reliability_table,
    results_table,
    speed_table,
)


def md_text(text: str) -> str:
    """Text a user controls, made inert in Markdown: every character Markdown would read as
    markup, HTML, an entity or a link escaped (so ``<script>``, ``<img onerror=...>`` and
    ``[x](javascript:...)`` show as the text they are: no link without its brackets, no HTML or
    autolink without its angle brackets; a bare ``https://`` address may still be linked by
    GitHub, as the address it is); line breaks become spaces."""
    text = " ".join(str(text).splitlines())
    for ch in "\\`*_[]<>|#&~":
        text = text.replace(ch, "\\" + ch)
    return text


def table_markdown(table: ResultsTable) -> list[str]:
    """The results table as Markdown lines, then its note."""
    lines = [
        "| " + " | ".join(md_text(c) for c in table.columns) + " |",
        "|" + "---|" * len(table.columns),
    ]
    lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in table.rows]
    return [*lines, "", md_text(table.note)]


def render_markdown(info: ReportInfo, path: Path) -> list[Path]:
    """Write ``path`` and its figures (``<stem>_*.png`` beside it); return every file written."""
    stem = path.with_suffix("")
    written = []

    def fig(f, name: str, alt: str) -> str:
        target = Path(f"{stem}_{name}.png")
        figures.png(f, target)
        written.append(target)
        return f"![{alt}](<{target.name}>)"

    a = info.analysis
    lines = [
        f"# {md_text(info.title)}",
        "",
        f"**Verdict.** {md_text(a.verdict.text)}",
        "",
        *table_markdown(results_table(a, info.title)),
    ]
    lines += [
        "",
        fig(
            figures.learning_curves(info.acc_curves, info.loss_curves, a.plan.metric), "curves",
            "learning curves"
        ),
        "",
        fig(figures.final_distribution(info.finals, a.plan.metric), "finals", "final values"),
    ]
    if a.pairs:
        lines += ["", fig(figures.pairwise_matrix(list(a.labels), a.pairs, a.plan.metric),
                          "pairwise", "pairwise")]
    if a.decisions:
        lines += [
            "", fig(figures.differences(a.decisions, a.margin, a.plan.metric), "differences",
                    "differences"),
            "", *table_markdown(decisions_table(a)),
            "", *table_markdown(reliability_table(a)),
            *(["", *table_markdown(speed_table(a))] if a.speed else []),
        ]
    if len(a.conditions) > 1:
        lines += [
            "",
            fig(figures.effect_by_condition(a, effect_reference(a)), "conditions",
                "effect of the order by condition"),
            "", *table_markdown(interaction_table(a)),
        ]
    if info.lr_series:
        lines += ["", fig(figures.lr_robustness(info.lr_series, a.plan.metric), "lr",
                          "LR robustness")]
    if info.probes is not None:
        lines += ["", fig(figures.probe_summary(info.probes.orders), "probes", "probes")]
        orders = info.probes.orders
        chains = [c for c in (chain_from_rows(o.label, o.stages) for o in orders) if c]
        if chains:
            lines += ["", fig(figures.stage_chains(chains), "chains", "stage by stage")]
    prov = info.provenance
    lines += [
        "",
        f"Provenance: layerorder {md_text(str(prov.get('layerorder', '?')))}, torch "
        f"{md_text(str(prov.get('torch', '?')))}, device {md_text(str(prov.get('devices', '?')))}"
        f", git {md_text(str(prov.get('git') or '-'))}, {md_text(prov['report generated'])}.",
        "",
    ]
    atomic_write_text(path, "\n".join(lines))
    return [path, *written]
