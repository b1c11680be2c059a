"""Number formatting for plain-language verdicts (accuracies 1 decimal, p-values ~3 digits)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def format_p(p: float, alpha: float = 0.05) -> str:
    """``"< 0.001"`` for tiny p, else ``"= "`` and 3 significant digits.

    Never rounds a p-value below ``alpha`` up to ``alpha`` (0.04996 -> ``"= 0.04996"``)
    nor one at or above it down below it, so the text agrees with the decision.
    """
    if math.isnan(p):
        return "= n/a"
    if p < 0.001:
        return "< 0.001"
    for digits in (3, 6):
        shown = f"{p:.{digits}g}"
        if (float(shown) < alpha) == (p < alpha):
            break
    return f"= {shown}"


def format_points(diff: float) -> str:
    """A signed difference in percentage points, e.g. ``"+4.1 points"``."""
    if math.isinf(diff) or math.isnan(diff):
        return f"{diff} points"
    return f"{diff:+.1f} points"


def format_accuracy(mean: float, sd: float, n: int) -> str:
    """``"97.6 ± 0.3 % (mean ± SD over 5 seeds)"``, or the single-seed wording."""
    if n >= 2:
        return f"{mean:.1f} ± {sd:.1f} % (mean ± SD over {n} seeds)"
    return f"{mean:.1f} % (a single seed)"


def join_names(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
