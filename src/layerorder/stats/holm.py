"""Holm-Bonferroni step-down adjustment of a family of p-values."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values, in the input order.

    With the m non-nan p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted
    value of p_(i) is ``min(1, max_{j <= i} (m - j + 1) * p_(j))``. The result is
    monotone in the raw p-values (equal raw p-values get equal adjusted ones) and
    capped at 1. nan entries are passed through and do not count in m.
    Reject H_i at family-wise level alpha exactly when ``adjusted[i] < alpha``
    (equivalently <=, for the usual continuous p-values).
    """
    p = np.asarray(pvalues, dtype=float).reshape(-1)
    valid = ~np.isnan(p)
    if np.any((p[valid] < 0.0) | (p[valid] > 1.0)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    idx = np.flatnonzero(valid)
    m = idx.size
    order = idx[np.argsort(p[idx], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0) if m else scaled
    out = [math.nan] * p.size
    for position, value in zip(order, adjusted, strict=True):
        out[int(position)] = float(value)
    return out
