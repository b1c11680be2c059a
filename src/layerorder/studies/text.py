"""The terminal's view of a study's verdicts: ``layerorder study run`` prints it in colour,
``str(result)`` as plain text (``layerorder.terminal.as_text``)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from layerorder.terminal import shown

# ``layerorder.studies.run``'s records (this module is their view: it imports nothing of theirs)
ClaimResult = StudyResult = Any

# an outcome's colour
STYLE = {"supported": "green", "contradicted": "red", "undecided": "yellow",
         "agrees outside regime": "cyan", "not reproduced": "magenta"}


def claim_kind(c: ClaimResult) -> str:
    """``claim``, ``check``, and whether it is primary or reads another claim's comparison."""
    return c.claim.kind + (" (primary)" if c.claim.primary else "") + (
        f" (shares {c.claim.shares})" if c.claim.shares else "")


def verdict_table(result: StudyResult) -> Table:
    """One row per claim: its id, kind, outcome and the evidence in words."""
    table = Table(title=shown(f"{result.study.name} ({result.scale})"))
    for col in ("claim", "kind", "verdict", "evidence"):
        table.add_column(col)
    for c in result.claims:
        o = c.verdict.outcome
        style = STYLE.get(o, "")
        table.add_row(shown(c.claim.id), shown(claim_kind(c)),
                      f"[{style}]{o}[/{style}]" if style else o, shown(c.verdict.evidence))
    return table
