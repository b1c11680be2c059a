"""Does the effect of the order depend on a factor? The order x factor interaction.

The design is paired: within a condition (one level of every factor) each seed trains every
order, so seeds are blocks. For each factor the test compares two linear models fitted by
statsmodels' OLS, ``accuracy ~ block + order + order:factor (+ the other factors' order terms)``
against the same model without the ``order:factor`` terms (blocks are condition x seed, so the
factor's own main effect is inside the blocks), with ``statsmodels.stats.anova.anova_lm``'s
F-test of the nested models. Accuracies of orders that collapse on some seeds are far from
normal; when the Shapiro-Wilk test rejects normal residuals (p < 0.05) the verdict uses the
aligned-rank-transform version instead (Wobbrock et al. 2011): the responses aligned for the
interaction (the residuals of the model without it) are ranked and the same F-test is run on the
ranks. Both are reported.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from layerorder.stats.summary import NAN

NORMALITY_ALPHA = 0.05


@dataclass(frozen=True)
class Observation:
    """One finished run: its order, its condition (the factors' levels), seed and accuracy."""

    label: str
    levels: tuple[tuple[str, object], ...]
    seed: int
    value: float


@dataclass(frozen=True)
class Interaction:
    """The order x ``factor`` interaction. ``p_anova``/``f_anova``: F-test on the accuracies;
    ``p_rank``: the aligned-rank-transform F-test; ``p_normal``: Shapiro-Wilk on the residuals;
    ``test``/``p``: the one the verdict uses ('anova', or 'aligned ranks' when normality is
    rejected)."""

    factor: str
    df_num: float
    df_den: float
    f_anova: float
    p_anova: float
    p_rank: float
    p_normal: float
    test: str
    p: float


def _terms(factors: Sequence[str], without: str | None) -> str:
    factors = list(factors)
    """``C(block) + C(order)`` and the order x factor terms (all products of factors)."""
    import itertools

    terms = ["C(block)", "C(order)"]
    for r in range(1, len(factors) + 1):
        for combo in itertools.combinations(factors, r):
            if without in combo:
                continue
            terms.append(":".join(["C(order)", *(f"C(f{factors.index(f)})" for f in combo)]))
    return " + ".join(terms)


def _f_test(frame, column: str, factors, factor):
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    with warnings.catch_warnings():
        # the order:factor columns repeat what the blocks hold (a rank-deficient design, solved
        # by the pseudo-inverse as intended); a perfect fit gives 0/0, reported as nan
        warnings.simplefilter("ignore")
        full = ols(f"{column} ~ {_terms(factors, None)}", frame).fit()
        reduced = ols(f"{column} ~ {_terms(factors, factor)}", frame).fit()
        table = anova_lm(reduced, full)
    row = table.iloc[1]
    if full.df_resid < 1 or not math.isfinite(float(row["F"])):
        return full, reduced, float(row["df_diff"]), NAN, NAN  # one seed per condition
    # a reduction of the residual sum of squares at rounding level can come out negative
    f_value = max(0.0, float(row["F"]))
    p_value = min(1.0, float(row["Pr(>F)"])) if f_value > 0 else 1.0
    return full, reduced, float(row["df_diff"]), f_value, p_value


def interaction_tests(
    observations: Sequence[Observation], factors: Sequence[str]
) -> tuple[Interaction, ...]:
    """One interaction test per factor with at least two levels among ``observations``."""
    factors = list(factors)
    import pandas as pd

    rows = [
        {
            "y": o.value,
            "order": o.label,
            "block": f"{o.levels}|{o.seed}",
            **{f"f{factors.index(k)}": str(v) for k, v in o.levels if k in factors},
        }
        for o in observations
        if math.isfinite(o.value)
    ]
    frame = pd.DataFrame(rows)
    out = []
    for factor in factors:
        column = f"f{list(factors).index(factor)}"  # formula-safe names: fields may hold dots
        if frame.empty or frame[column].nunique() < 2 or frame["order"].nunique() < 2:
            continue
        full, reduced, df_num, f_value, p_value = _f_test(frame, "y", factors, factor)
        resid = full.resid.to_numpy()
        testable = math.isfinite(p_value) and len(resid) >= 3 and resid.std() > 0
        p_normal = float(stats.shapiro(resid).pvalue) if testable else NAN
        frame["aligned"] = stats.rankdata(reduced.resid.to_numpy())
        p_rank = _f_test(frame, "aligned", factors, factor)[4]
        rank_test = math.isfinite(p_normal) and p_normal < NORMALITY_ALPHA
        out.append(
            Interaction(
                factor, df_num, float(full.df_resid), f_value, p_value, p_rank, p_normal,
                "aligned ranks" if rank_test else "anova", p_rank if rank_test else p_value,
            )
        )
    return tuple(out)
