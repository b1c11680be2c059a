"""The findings page (``report.findings``) as drawn from a committed findings JSON."""

from __future__ import annotations

from pathlib import Path

from layerorder.report.findings import render_findings_markdown
from layerorder.report.findings_json import findings_from_json

LEARNING_RATE = (Path(__file__).resolve().parents[2] / "studies" / "cpu" / "learning-rate"
                 / "claims.json")


def test_a_cell_of_one_seed_has_its_difference_without_an_interval(tmp_path):
    """At lr 1.6 one run of conv-relu finished: its difference from the reference is shown,
    with no interval (one seed has none), never as '(+nan to +nan)'."""
    findings = findings_from_json([(str(LEARNING_RATE), LEARNING_RATE.read_text())])
    one = [c for r in findings.results for e in r.experiments for c in e.cells
           if c.n == 1 and c.order != e.reference]
    assert one, "the committed file has a cell of one seed"
    page = tmp_path / "findings.md"
    render_findings_markdown(findings, page, "layerorder study report --from ...")
    text = page.read_text()
    assert "+nan" not in text and "| nan |" not in text
    cell = one[0]
    assert f"| {cell.condition} | {cell.order} |" in text and f"| 1 | {cell.diff:+.2f} |" in text
