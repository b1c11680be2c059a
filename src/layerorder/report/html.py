"""One self-contained HTML page: inline CSS, inline SVG figures, no script, no network.

Every user-provided string (experiment name, order labels, config values, errors) goes through
``html.escape``.
"""

from __future__ import annotations

import re
from html import escape

from layerorder.files import GENERATOR
from layerorder.probe.chain import chain_from_rows
from layerorder.report import figures
from layerorder.report.info import ReportInfo
from layerorder.stats.table import (
    ResultsTable,
    cell,
    decisions_table,
    effect_reference,
    interaction_table,
    reliability_table,
    results_table,
    speed_table,
)

# No script, no network: the page can only use its own inline styles and inline images.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1150px;
padding:1.5em;color:#222;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ddd;
padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}
.verdict{background:#f3f8ff;border-left:4px solid #1f77b4;padding:.8em 1em}
.muted{color:#666;font-size:.85em}figure{margin:.8em 0}figure svg{max-width:100%;height:auto}
tr.diverged td{background:#fff6e5}tr.failed td{background:#fdecea}
nav a{margin-right:.8em}
"""


# a cell a column of numbers holds: a number (signed, with a unit or a count after it), a p-value
# cell (<0.001, best), or nothing (-, n/a, empty)
_NUMBER = re.compile(r"[-+±−]?(\d[\d,.]*(e[-+]?\d+)?|inf|nan)( ?%| ?s| ?x)?( \(\d+\))?"
                     r"|(<|&lt;)0\.001|best|-|n/a|", re.IGNORECASE)


def _numeric_columns(rows: list[list[str]]) -> list[bool]:
    """Per column, whether it holds numbers (right-aligned); text columns are left-aligned."""
    width = max((len(r) for r in rows), default=0)
    return [
        i > 0 and any(r[i] not in ("", "-") for r in rows if i < len(r))
        and all(_NUMBER.fullmatch(r[i].strip()) for r in rows if i < len(r))
        for i in range(width)
    ]


def escaped_table(header: list[str], rows: list[list[str]],
                  row_classes: list[str] | None = None) -> str:
    """The report's table markup; ``header`` and ``rows`` must already be escaped. Columns of
    numbers are right-aligned, columns of text left-aligned."""
    numeric = _numeric_columns(rows)
    align = ["" if i < len(numeric) and numeric[i] else "l" for i in range(len(header))]
    head = "".join(f'<th class="{align[i]}">{h}</th>' for i, h in enumerate(header))
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes else ""
        cells = "".join(f'<td class="{align[i] if i < len(align) else "l"}">{c}</td>'
                        for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{escape(title)}</h2>{body}</section>'


def _figure(fig, caption: str, fid: str) -> str:
    return (
        f'<figure id="{fid}">{figures.svg(fig)}<figcaption class="muted">{escape(caption)}'
        "</figcaption></figure>"
    )


def table_html(table: ResultsTable) -> str:
    """The results table as an HTML table and its note (every cell escaped)."""
    rows = [[escape(c) for c in row] for row in table.rows]
    body = escaped_table([escape(c) for c in table.columns], rows, list(table.status))
    return body + f'<p class="muted">{escape(table.note)}</p>'


def results_section(info: ReportInfo) -> str:
    return table_html(results_table(info.analysis, info.title))


def _config_section(info: ReportInfo) -> str:
    rows = [[escape(r.setting), escape(r.value), escape(r.meaning)] for r in info.config]
    return escaped_table(["setting", "value", "meaning"], rows)


def _provenance_section(info: ReportInfo) -> str:
    rows = [[escape(str(k)), escape(str(v))] for k, v in info.provenance.items()]
    return escaped_table(["what", "value"], rows)


def _runs_section(info: ReportInfo) -> str:
    metric = info.analysis.plan.metric
    num = metric.cell
    header = [
        "run",
        "order",
        "seed",
        "lr",
        "status",
        "test acc %" if metric.is_accuracy else metric.name,
        "train loss",
        "epochs",
        "wall s",
        "note",
    ]
    rows = [
        [
            str(r.id),
            escape(r.label),
            str(r.seed),
            f"{r.lr:g}",
            escape(r.status),
            num(r.value),
            cell(r.train_loss, 4),
            str(r.epochs),
            cell(r.wall_time, 1),
            escape(r.note),
        ]
        for r in info.runs
    ]
    return escaped_table(header, rows, [escape(r.status) for r in info.runs])


def _probe_section(info: ReportInfo) -> str:
    p = info.probes
    parts = [
        _figure(
            figures.probe_summary(p.orders),
            "Trained networks on the fixed probe batch: fraction positive and dead units "
            "per stage, gradient flow per weight layer, BN variance shift per BN layer "
            "(1 = none).",
            "fig-probe-summary",
        )
    ]
    chains = [c for c in (chain_from_rows(o.label, o.stages) for o in p.orders) if c]
    if chains:
        parts.append(
            _figure(
                figures.stage_chains(chains),
                "The same block in each order, stage by stage: the signed distribution after"
                " the weight layer, the norm, the activation and the pool, in the order's own"
                " sequence, on shared axes.",
                "fig-stage-chains",
            )
        )
    for i, o in enumerate(p.orders):
        parts.append(
            _figure(
                figures.stage_histograms(o),
                f"{o.label} (seed {o.seed}): signed histograms of every stage.",
                f"fig-hist-{i}",
            )
        )
    flagged = [
        f"{escape(o.label)}: {escape(name)} (shift {shift:.2f})"
        for o in p.orders
        for name, shift, bad in o.varshift
        if bad
    ]
    grads = [
        f"{escape(o.label)}: {escape(g[0])} ({escape(g[3])})"
        for o in p.orders
        for g in o.grads
        if g[3] != "ok"
    ]
    notes = "".join(f"<li>BN variance shift in {t}</li>" for t in flagged)
    notes += "".join(f"<li>gradient flow: {t}</li>" for t in grads)
    parts.append(f"<ul>{notes}</ul>" if notes else '<p class="muted">No layer flagged.</p>')
    return "".join(parts)


def _decision_sections(a) -> list[str]:
    """Decisions (with the differences over the equivalence band), reliability, and the effect
    of the order by condition with the interaction tests."""
    if not a.decisions:
        return []
    out = [
        _section(
            "decisions",
            "Different, equivalent or undecided",
            _figure(
                figures.differences(a.decisions, a.margin, a.plan.metric),
                "Mean paired difference and 95% CI of each pair"
                + (f"; grey: the equivalence band ±{a.plan.metric.margin_text(a.margin)}"
                   if a.margin > 0 else " (no equivalence margin given)")
                + ". Red: different, green: equivalent, grey: undecided.",
                "fig-differences",
            )
            + table_html(decisions_table(a)),
        ),
        _section("reliability", "Reliability", table_html(reliability_table(a))),
    ]
    if a.speed:
        out.append(_section("speed", "Speed", table_html(speed_table(a))))
    if len(a.conditions) > 1:
        ref = effect_reference(a)
        out.append(
            _section(
                "conditions",
                "Effect of the order by condition",
                _figure(
                    figures.effect_by_condition(a, ref),
                    f"Each order minus {ref} at every level of the varied factors (95% CI;"
                    f" grey band: ±{a.plan.metric.margin_text(a.margin)}).",
                    "fig-conditions",
                )
                + table_html(interaction_table(a)),
            )
        )
    return out


def render_html(info: ReportInfo, lead: tuple[tuple[str, str, str], ...] = ()) -> str:
    """The page; ``lead``: (id, title, HTML body) sections put before the verdict (a search's
    space, plan and pruning history before its final comparison)."""
    a = info.analysis
    exp = info.experiment
    sections = [
        *(_section(sid, title, body) for sid, title, body in lead),
        _section("verdict", "Verdict", f'<p class="verdict">{escape(a.verdict.text)}</p>'),
        _section("results", "Results", results_section(info)),
        _section(
            "curves",
            "Learning curves",
            _figure(
                figures.learning_curves(info.acc_curves, info.loss_curves, a.plan.metric),
                ("Test accuracy and training loss per epoch." if a.plan.metric.is_accuracy
                 else f"{a.plan.metric.name} per epoch ({a.plan.metric.direction})."),
                "fig-curves",
            ),
        ),
        _section(
            "finals",
            f"Final {a.plan.metric.noun} per seed",
            _figure(figures.final_distribution(info.finals, a.plan.metric),
                    f"Final {a.plan.metric.label}.", "fig-finals"),
        ),
    ]
    sections += _decision_sections(a)
    if a.pairs:
        sections.append(
            _section(
                "pairwise",
                "Pairwise comparisons",
                _figure(
                    figures.pairwise_matrix(list(a.labels), a.pairs, a.plan.metric),
                    "Mean paired difference and Holm-adjusted p.",
                    "fig-pairwise",
                ),
            )
        )
    if info.lr_series:
        sections.append(
            _section(
                "lr",
                "Learning-rate robustness",
                _figure(
                    figures.lr_robustness(info.lr_series, a.plan.metric),
                    f"Mean final {a.plan.metric.label} per learning rate.",
                    "fig-lr",
                ),
            )
        )
    if info.probes is not None:
        sections.append(_section("probes", "Probes", _probe_section(info)))
    sections += [
        _section("config", "Configuration", _config_section(info)),
        _section("provenance", "Provenance", _provenance_section(info)),
        _section("runs", "All runs", _runs_section(info)),
    ]
    nav = "".join(f'<a href="#{sid}">{sid}</a>' for sid in [s.split('"')[1] for s in sections])
    sub = (
        f"experiment {escape(exp['name'])} (id {exp['id']}), created {escape(exp['created_at'])}"
        f"; {a.n_runs} runs"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="generator" content="{GENERATOR}">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{escape(info.title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{escape(info.title)}</h1><p class="muted">{sub}</p><nav>{nav}</nav>'
        f"{''.join(sections)}</body></html>"
    )
