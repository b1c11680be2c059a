"""Exact tests for outcomes a t-test does not fit: the sign test of paired differences.

A variable pinned at a floor (dead units that are 0 for every seed) or an outcome that is bimodal
because some seeds fail has no t interval worth reading: the sign test asks only how many seeds
go each way (ties dropped), with the exact binomial p-value (``scipy.stats.binomtest``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ALTERNATIVES = ("greater", "less", "two-sided")


@dataclass(frozen=True)
class SignTest:
    """Seeds whose difference is above, below and at zero, and the exact p of ``alternative``
    ('greater': more seeds above zero than chance allows). ``p`` is 1 when every pair ties."""

    above: int
    below: int
    ties: int
    alternative: str
    p: float

    @property
    def n(self) -> int:
        return self.above + self.below + self.ties

    def headline(self, side: str) -> str:
        """The seeds as a claim's headline reads them: on the claim's ``side`` ('greater': above
        zero) first, then against (``describe`` says which sign each is)."""
        toward, away = (self.above, self.below) if side == "greater" else (self.below, self.above)
        seeds = "seed" if toward == 1 else "seeds"
        return f"{toward} {seeds} on the claim's side, {away} against, {self.ties} tied"

    def describe(self) -> str:
        return (f"sign test: {self.above} seeds above zero, {self.below} below, {self.ties} tied;"
                f" exact one-sided p {self.p:.3g}" if self.alternative != "two-sided" else
                f"sign test: {self.above} above, {self.below} below, {self.ties} tied;"
                f" exact p {self.p:.3g}")


def sign_test(diffs: Sequence[float], alternative: str = "greater") -> SignTest:
    """The exact sign test of paired differences against zero."""
    from scipy import stats

    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}")
    above = sum(d > 0 for d in diffs)
    below = sum(d < 0 for d in diffs)
    ties = len(diffs) - above - below
    if above + below == 0:
        return SignTest(above, below, ties, alternative, 1.0)
    p = float(stats.binomtest(above, above + below, 0.5, alternative=alternative).pvalue)
    return SignTest(above, below, ties, alternative, p)
