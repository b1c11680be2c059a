"""Number formatting for plain-language verdicts: p-values (about 3 digits) and lists of names
(a metric's own numbers: ``layerorder.stats.metric.Metric``)."""

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


def join_names(names: Sequence[str], word: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c`` (``a, b or c`` with ``word="or"``)."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {word} {names[-1]}"


def cell(value: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals; '-' for a missing or non-finite one."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def p_cell(p: float | None) -> str:
    """A Holm-adjusted p-value as every view shows it: 'best', '-', '<0.001' or 3 decimals."""
    if p is None:
        return "best"
    if math.isnan(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    """A number as every table shows it (``cell``), with an optional suffix."""
    text = cell(value, digits)
    return text if text == "-" else text + suffix
