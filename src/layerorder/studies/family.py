"""The error across a page of claims: Holm over every primary claim, and the tally that counts
debated claims once.

Each study names its primary claims (``primary = true``): the few it exists to answer. A findings
page tests many claims, each one-sided at 5 % in either direction (supported or contradicted), so
some verdicts among the secondary claims are expected to be wrong by chance alone (up to 0.10 per
claim with no effect); the page says so. For the primary claims the family-wise error is
controlled: Holm's step-down at alpha over the primary claims of every study on the page, on the
one-sided p each verdict rests on (the smaller direction's when undecided). Each p then has
P(p <= t) <= 2t under no effect, so the chance of any wrong primary verdict is at most 2 alpha,
as the page states. Holm rather than
Benjamini-Hochberg because the primary claims are few and each is read as a finding on its own,
so the chance of any false one (not the expected share) is what a reader needs bounded. A primary
claim keeps supported or contradicted only when its adjusted p is below alpha; otherwise it is
undecided (or, outside its regime, not reproduced), and says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from layerorder.stats.holm import holm
from layerorder.studies.run import ALPHA, ClaimResult, StudyResult, evaluate_study
from layerorder.studies.spec import Study

DECIDED = ("supported", "contradicted", "agrees outside regime")
METHOD = "Holm"


@dataclass(frozen=True)
class Findings:
    """Every study's claims at one scale, with the primary claims corrected together.
    ``family``: (study, claim id, raw p, adjusted p) per primary claim."""

    results: tuple[StudyResult, ...]
    family: tuple[tuple[str, str, float, float], ...]
    alpha: float = ALPHA
    method: str = METHOD
    raw: tuple[StudyResult, ...] = ()  # the results before the correction (what JSON keeps)

    def counted(self) -> list[ClaimResult]:
        """The debated claims, each comparison once (checks and shared comparisons left out)."""
        return [c for r in self.results for c in r.claims if c.claim.counted]

    def checks(self) -> list[ClaimResult]:
        return [c for r in self.results for c in r.claims if c.claim.kind == "check"]

    def expected_false(self) -> float:
        """About how many secondary verdicts would be wrong by chance if none of their effects
        existed: alpha per direction (supported or contradicted) per secondary debated claim."""
        return 2 * self.alpha * sum(1 for c in self.counted() if not c.claim.primary)


def control_primary(results: Sequence[StudyResult], alpha: float = ALPHA) -> Findings:
    """Holm over the primary claims of ``results`` (a claim without a p counts as p = 1)."""
    primary = [(i, j) for i, r in enumerate(results) for j, c in enumerate(r.claims)
               if c.claim.primary]
    raw = [_p(results[i].claims[j].verdict.p) for i, j in primary]
    adjusted = holm(raw) if raw else []
    out = [list(r.claims) for r in results]
    family = []
    for (i, j), p, q in zip(primary, raw, adjusted):
        c = out[i][j]
        out[i][j] = replace(c, p_family=q, verdict=_adjusted(c, q, len(primary), alpha))
        family.append((c.study, c.claim.id, p, q))
    return Findings(tuple(replace(r, claims=tuple(out[i])) for i, r in enumerate(results)),
                    tuple(family), alpha, raw=tuple(results))


def _p(p: float) -> float:
    return p if isinstance(p, float) and math.isfinite(p) else 1.0


def _adjusted(c: ClaimResult, q: float, m: int, alpha: float):
    v = c.verdict
    if v.outcome not in DECIDED or q < alpha:
        return v
    outcome = "not reproduced" if v.outcome == "agrees outside regime" else "undecided"
    note = (f"{v.outcome} on its own test (p {v.p:.3g}), but not after {METHOD} over the {m} "
            f"primary claims on this page (adjusted p {q:.3g})")
    return replace(v, outcome=outcome, evidence=f"{v.evidence}. {note}",
                   decide=v.decide or "more seeds: the adjusted p must fall below "
                   f"{alpha:g}")


def evaluate_findings(studies: Sequence[Study], scale: str, store: str | Path, *,
                      alpha: float = ALPHA) -> Findings:
    """Every study's claims at ``scale`` from ``store``, primary claims corrected together."""
    return control_primary([evaluate_study(s, scale, store, alpha=alpha) for s in studies], alpha)
