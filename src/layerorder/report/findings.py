"""Study results drawn: a findings page in Markdown (figures as PNG files beside it) or one
self-contained HTML file. Everything shown comes from a ``Findings`` record
(``layerorder.studies.family.evaluate_findings``); nothing here computes a verdict.

The page: the debated claims' headline table (claim, the source's number, the measured effect
with its interval, seeds, the scale's regime against the source's, the verdict), the checks in a
table of their own, the primary claims with their family-wise adjusted p, each study's cell means
and 'it depends' figure for every varied experiment, each claim in full, and the caveats."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from layerorder.files import GENERATOR, atomic_write_text
from layerorder.report import figures
from layerorder.report.html import CSP, CSS
from layerorder.report.markdown import md_text
from layerorder.studies.claims import OUTCOMES, Estimate
from layerorder.version import __version__

FINDINGS_HEAD = "# layerorder findings"  # how a findings page starts (never overwrite others)
MARK = {"supported": "supported", "contradicted": "CONTRADICTED", "undecided": "undecided",
        "agrees outside regime": "agrees, outside the source's regime",
        "not reproduced": "not reproduced at this scale"}
CHECK_MARK = {"supported": "reproduced", "contradicted": "FAILED", "undecided": "undecided",
              "agrees outside regime": "reproduced", "not reproduced": "not reproduced"}


def _counts(claims) -> str:
    every = [c.verdict.outcome for c in claims]
    return ", ".join(f"{every.count(o)} {MARK[o]}" for o in OUTCOMES if every.count(o))


def _readings(findings) -> str:
    """The sentence that counts this study's own readings apart ('' where there are none)."""
    readings = [c for c in findings.counted() if c.claim.reading]
    if not readings:
        return ""
    return (f" Of these, {len(readings)} are this study's own readings of a source (a sharper or"
            " narrower form of its words, or a question no source answers; each says so), whose"
            f" verdicts speak to that reading, not to a claim the source made: "
            f"{_counts(readings)}.")


def _provenance(findings) -> list[str]:
    results = findings.results
    machines = sorted({r.machine for r in results if r.machine})
    ends = [r.finished_at for r in results if r.finished_at]
    runs = sum(e.runs for r in results for e in r.experiments)
    hours = sum(e.wall_seconds for r in results for e in r.experiments) / 3600
    return [
        f"Scale: {', '.join(sorted({r.scale for r in results}))}; store: "
        f"`{results[0].store}`; {runs} runs, {hours:.2f} h of summed run time.",
        f"Machine: {'; '.join(machines) or 'no runs yet'}; last run finished "
        f"{max(ends) if ends else '-'}; layerorder {__version__}; page written "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
    ]


def _regime_cell(c) -> str:
    m = c.verdict.regime
    if m is None:
        return "-"
    if not m.needs:
        return f"{m.describe()}; the claim assumes no regime"
    if m.meets:
        return f"meets ({'; '.join(n.describe() for n in m.needs)}): {m.describe()}"
    return f"differs: {'; '.join(m.unmet)}"


def _n(c) -> str:
    ns = sorted({e.n for e in c.verdict.estimates if e.n})
    return "/".join(map(str, ns)) or "-"


def _effect(c) -> str:
    return c.verdict.effect or "-"


def lead(findings) -> str:
    """The lead paragraph of a findings page (Markdown or HTML): the verdicts counted, the
    readings apart, and how a verdict is reached."""
    n_checks = len(findings.checks())
    m = len(findings.family)
    return (
        f"Verdicts of the {len(findings.counted())} debated claims (each comparison counted "
        f"once): {_counts(findings.counted())}.{_readings(findings)} {n_checks} checks"
        " (identities, sanity facts the probes must reproduce, and guards on how a claim is"
        " read) are listed apart and counted as no evidence; a claim guarded by a check stands"
        " only where the check holds (elsewhere it is undecided, or not reproduced outside its"
        " source's regime). A claim is *supported* "
        "when a one-sided test at 5 % (a 90 % interval on the claim's side of its threshold) "
        "accepts it, *contradicted* when the same test accepts its opposite, and *undecided* "
        "otherwise, but only where the scale meets the regime the claim's source measured in; "
        "elsewhere a result in the claim's direction *agrees, outside the source's regime* and "
        "anything else is *not reproduced at this scale*. Claims that rank orders by accuracy "
        "(one more accurate than another, or equivalent to it) use the comparison's two-sided "
        "paired tests with Holm's correction over its pairs (at 5 % two-sided, stricter than "
        "one-sided), TOST within the margin, simultaneous intervals, and the exact sign test "
        "where seeds failed; any other claim (a difference or ratio of a measured value, final "
        "accuracy included) uses the one-sided test above. "
        f"The {m} primary claims are corrected together "
        f"({findings.method} at 5 % over each claim's p in its verdict's direction, the smaller "
        "of the two when undecided): since each can be decided either way, the chance that any "
        "primary verdict is wrong is at most 10 %. The others are not corrected: if none of "
        f"their effects existed, about {findings.expected_false():.1f} of their verdicts would "
        "be wrong by chance alone.")


def _headline_rows(findings) -> list[tuple[str, ...]]:
    rows = []
    for r in findings.results:
        for c in r.claims:
            if not c.claim.counted:
                continue
            primary = " (primary)" if c.claim.primary else ""
            rows.append((r.study.name, r.scale, c.claim.statement + primary,
                         c.claim.literature or "-", _effect(c), _n(c), _regime_cell(c),
                         MARK[c.verdict.outcome]))
    return rows


HEADLINE = ("study", "scale", "claim", "the source's number", "measured (interval)", "n",
            "regime", "verdict")


def _check_rows(findings) -> list[tuple[str, ...]]:
    return [(r.study.name, c.claim.statement, c.claim.source, CHECK_MARK[c.verdict.outcome],
             c.verdict.evidence) for r in findings.results for c in r.claims
            if c.claim.kind == "check"]


CHECKS = "Checks (identities, sanity facts and guards on a claim's reading; not evidence)"
CHECK_COLUMNS = ("study", "check", "why it is checked", "result", "measured")
FAMILY = ("study", "claim", "p (one-sided, the verdict's direction; undecided: the smaller)",
          "Holm-adjusted p", "verdict")


def _family_rows(findings) -> list[tuple[str, ...]]:
    out = []
    by = {(c.study, c.claim.id): c for r in findings.results for c in r.claims}
    for study, cid, p, q in findings.family:
        c = by[(study, cid)]
        out.append((study, cid, f"{p:.3g}", f"{q:.3g}", MARK[c.verdict.outcome]))
    return out


def _cell_rows(e) -> list[tuple[str, ...]]:
    rows, cell_text, signed = [], e.metric.cell, e.metric.signed
    for cell in e.cells:
        interval = (f" ({signed(cell.diff_low)} to {signed(cell.diff_high)})"
                    if math.isfinite(cell.diff_low) and math.isfinite(cell.diff_high) else "")
        diff = ("-" if cell.order == e.reference or not math.isfinite(cell.diff) else
                f"{signed(cell.diff)}{interval}")  # one seed: no interval
        ci = (f"{cell_text(cell.low)} to {cell_text(cell.high)}" if math.isfinite(cell.low)
              else "-")
        speed = ("-" if not math.isfinite(cell.target) else
                 f"{cell.epochs_to_target:g} (to {cell.target:.1f} %)"
                 if cell.epochs_to_target is not None else f"never (to {cell.target:.1f} %)")
        rows.append((cell.condition, cell.order, cell_text(cell.mean), ci, str(cell.n), diff,
                     speed))
    return rows


def _cells_header(e) -> tuple[str, ...]:
    return ("condition", "order", f"mean {e.metric.label}", "95% CI", "n",
            "minus the reference (simultaneous CI)",
            "median epochs to target (speed, not reliability)")


def _depends(e):
    """The order's effect across the factor's levels (each order minus the reference)."""
    ests = [Estimate(f"{c.order} @ {c.condition}", (), c.diff, c.diff_low, c.diff_high)
            for c in e.cells if c.order != e.reference and math.isfinite(c.diff)]
    axis = f"minus {e.reference}, {e.metric.units} (simultaneous CI)"
    return figures.claim_estimates(ests, (0.0, 0.0), axis) if ests else None


# what a scale's runs cannot show, said once per scale on a page holding results of that scale;
# other scales are described by their studies' own notes (``[scales.X] note``)
SCALE_CAVEATS = {"quick": (
    "**Ceiling.** The quick scale trains on MNIST-1D, where the convolutional networks reach "
    "95-98 %: a 0.5-point margin is a quarter of the remaining error, every order can look "
    "equivalent, and a published gain of 1.5-2.5 points cannot show. Claims whose sources "
    "measured at 50-93 % are marked by their regime instead of being decided here.",
    "**Optimizer.** The quick scale trains with Adam and a one-cycle schedule except the "
    "learning-rate study (SGD); He et al. and Ioffe & Szegedy used SGD with momentum and step "
    "schedules over far longer training. Effects that depend on SGD's dynamics are marked as "
    "outside the regime.",
    "**Depth.** The residual units are compared at depths 8 and 32 (He et al.: 110 and 164) and "
    "the Transformers at depths 2 and 4 (Xiong et al.: 6 and more) on 40 scalar tokens, far "
    "below the accuracy of the sources' tasks (each claim's regime column gives the accuracy "
    "measured here).",
)}
# what every page says of the built-in studies' runs (a page of a user's own studies leaves them
# out: their identities, failures and scales are the user's)
BUILT_IN_CAVEATS = (
    "**Identities are not findings.** Conv-BN-ReLU-max-pool and Conv-BN-max-pool-ReLU are the "
    "same function, and so are dropout right before and right after ReLU (the checks show both "
    "bit for bit); so are several pre-activation spellings of the built-in CNN. Equivalence "
    "between such spellings is an identity, not evidence.",
    "**Reliability.** A run has failed when it diverged or ended within 5 points of chance (the "
    "test split's most frequent class); a collapse is measured against the same order's other "
    "seeds. An order that learns more slowly is not counted as less reliable.",
)
CAVEATS = (
    "**Multiple testing.** Each claim is tested one-sided at 5 % in each direction (supported "
    "or contradicted), so a claim with no effect at all is decided wrongly 10 % of the time. "
    "The primary claims are corrected together (Holm), which bounds the chance of any wrong "
    "primary verdict at 10 %; the secondary ones are not, so a few of their verdicts are "
    "expected to be wrong by chance. Accuracy claims are Holm-corrected over the pairs of their "
    "comparison, and their intervals are simultaneous over those pairs.",
)


def caveats(findings, user_text=str) -> list[str]:
    """The page's caveats: each scale's (its fixed text, or every study's note on why that
    scale's regime was chosen), then those of every page. A scale's fixed text and the built-in
    caveats describe the built-in studies: a page of a user's own studies shows only its notes.
    ``user_text`` renders the study files' own text (``md_text`` on a Markdown page)."""
    out = []
    built_in = any(r.study.built_in for r in findings.results)
    for scale in sorted({r.scale for r in findings.results}):
        if scale in SCALE_CAVEATS and any(r.study.built_in for r in findings.results
                                          if r.scale == scale):
            out += SCALE_CAVEATS[scale]
            continue
        notes = [f"{r.study.name}: {user_text(r.study.scales[scale].note)}"
                 for r in findings.results
                 if r.scale == scale and r.study.scales[scale].note]
        if notes:
            out.append(f"**The {scale} scale.** " + "; ".join(notes) + ". Each claim's regime "
                       "column says whether this scale meets what its source measured in.")
    return out + list(BUILT_IN_CAVEATS if built_in else ()) + list(CAVEATS)


def render_findings_markdown(findings, path: Path, command: str) -> list[Path]:
    """Write ``path`` and one PNG per claim with a figure (``<stem>_<study>_<claim>.png``)."""
    stem = path.with_suffix("")
    written = [path]
    lines = [f"{FINDINGS_HEAD}: the claims of the debate, tested", "",
             f"Generated by `{command}` from the runs its studies stored. {lead(findings)}", "",
             *[f"- {line}" for line in _provenance(findings)], "",
             "## Headline answers: the debated claims", "", *_md_table(HEADLINE,
                                                                  _headline_rows(findings)),
             "", f"## {CHECKS}", "", *_md_table(CHECK_COLUMNS, _check_rows(findings)),
             "", f"## Primary claims, corrected together ({findings.method})", "",
             *_md_table(FAMILY, _family_rows(findings))]
    for r in findings.results:
        lines += ["", f"## {md_text(r.study.title)}", "", md_text(r.study.question), "",
                  f"Reproduce: `{r.command}` then `{r.report_command('md')}`.", ""]
        for e in r.experiments:
            lines.append(f"- `{e.experiment}`: {e.finished} of {e.runs} runs finished, "
                         f"{e.wall_seconds / 60:.1f} min of run time")
            short = e.experiment.split("/")[-1].replace("@", "-")
            if e.chains:
                target = Path(f"{stem}_{r.study.name}_{short}_chain.png")
                figures.png(figures.stage_chains(e.chains), target)
                written.append(target)
                lines += ["", f"![stage chain](<{target.name}>)", ""]
            if e.cells:
                lines += ["", f"Cell means over {md_text(', '.join(e.factors))} (reference order:"
                          f" {md_text(e.reference)}):", "",
                          *_md_table(_cells_header(e), _cell_rows(e))]
                fig = _depends(e)
                if fig is not None:
                    target = Path(f"{stem}_{r.study.name}_{short}_depends.png")
                    figures.png(fig, target)
                    written.append(target)
                    lines += ["", f"![it depends](<{target.name}>)", ""]
        for c in r.claims:
            lines += ["", *_md_claim(r, c)]
            fig = _figure(c)
            if fig is not None:
                target = Path(f"{stem}_{r.study.name}_{c.claim.id}.png")
                figures.png(fig, target)
                written.append(target)
                lines += ["", f"![{md_text(c.claim.id)}](<{target.name}>)"]
    lines += ["", "## Caveats", "", *[f"- {c}" for c in caveats(findings, md_text)]]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return written


def _md_claim(r, c) -> list[str]:
    v = c.verdict
    mark = CHECK_MARK[v.outcome] if c.claim.kind == "check" else MARK[v.outcome]
    kind = ("check" if c.claim.kind == "check" else "primary claim" if c.claim.primary
            else "claim")
    out = [f"### {md_text(c.claim.id)}: {mark} ({kind})", "",
           f"**Claim.** {md_text(c.claim.statement)}", "", f"**Source.** {md_text(c.claim.source)}"]
    if c.claim.literature:
        out += ["", f"**The source's number.** {md_text(c.claim.literature)}"]
    if c.claim.regime.source:
        out += ["", f"**The source's regime.** {md_text(c.claim.regime.describe())}"]
    if v.regime is not None:
        out += ["", f"**This scale.** {md_text(_regime_cell(c))}"]
    if c.claim.shares:
        out += ["", f"**Same comparison as** {md_text(c.claim.shares)}: tested once, counted"
                " once."]
    if c.claim.guarded_by:
        out += ["", f"**Guarded by** the check {md_text(c.claim.guarded_by)}: this verdict stands"
                " only where that check holds."]
    out += ["", f"**Evidence.** {md_text(v.evidence)}" + (
        f" (decided by {md_text(v.decided_by)})" if v.decided_by else "")]
    if c.p_family is not None:
        out += ["", f"**Family.** p {v.p:.3g}; {'Holm'}-adjusted over the primary claims "
                f"{c.p_family:.3g}"]
    if v.decide:
        out += ["", f"**What would decide it.** {md_text(v.decide)}"]
    return out


def _md_table(columns, rows) -> list[str]:
    if not rows:
        return ["(none)"]
    return [" | ".join(["", *columns, ""]).strip(), "|" + "---|" * len(columns),
            *(" | ".join(["", *(_cell(x) for x in row), ""]).strip() for row in rows)]


def _figure(claim_result):
    v = claim_result.verdict
    return figures.claim_estimates(v.estimates, v.reference, v.axis or "value")


def _cell(text: str) -> str:
    return md_text(text)


def _html_table(columns, rows) -> str:
    head = "".join(f"<th class=\"l\">{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td class=\"l\">{escape(x)}</td>" for x in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_findings_html(findings, command: str) -> str:
    parts = [f"<h1>layerorder findings</h1><p class=\"muted\">Generated by <code>"
             f"{escape(command)}</code>. {escape(lead(findings).replace('*', ''))}</p>"]
    parts += [f"<p class=\"muted\">{escape(line.replace('`', ''))}</p>"
              for line in _provenance(findings)]
    parts.append("<h2>Headline answers: the debated claims</h2>"
                 + _html_table(HEADLINE, _headline_rows(findings)))
    parts.append(f"<h2>{escape(CHECKS)}</h2>"
                 + _html_table(CHECK_COLUMNS, _check_rows(findings)))
    parts.append(f"<h2>Primary claims, corrected together ({findings.method})</h2>"
                 + _html_table(FAMILY, _family_rows(findings)))
    for r in findings.results:
        parts.append(f"<h2>{escape(r.study.title)}</h2><p>{escape(r.study.question)}</p>"
                     f"<p class=\"muted\">Reproduce: <code>{escape(r.command)}</code></p>")
        for e in r.experiments:
            if e.chains:
                parts.append(f"<figure>{figures.svg(figures.stage_chains(e.chains))}</figure>")
            if e.cells:
                parts.append(f"<p>Cell means over {escape(', '.join(e.factors))} (reference: "
                             f"{escape(e.reference)})</p>"
                             + _html_table(_cells_header(e), _cell_rows(e)))
                fig = _depends(e)
                if fig is not None:
                    parts.append(f"<figure>{figures.svg(fig)}</figure>")
        for c in r.claims:
            body = "".join(f"<p>{escape(line.replace('**', '').replace('`', ''))}</p>"
                           for line in _md_claim(r, c)[1:] if line)
            head = _md_claim(r, c)[0].removeprefix("### ")
            fig = _figure(c)
            if fig is not None:
                body += f"<figure>{figures.svg(fig)}</figure>"
            parts.append(f"<section id=\"{escape(r.study.name)}-{escape(c.claim.id)}\">"
                         f"<h3>{escape(head)}</h3>{body}</section>")
    parts.append("<h2>Caveats</h2><ul>" + "".join(
        f"<li>{escape(c.replace('**', ''))}</li>" for c in caveats(findings)) + "</ul>")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"generator\" content=\"{GENERATOR}\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            f"<title>layerorder findings</title><style>{CSS}</style></head><body>"
            + "".join(parts) + "</body></html>")
