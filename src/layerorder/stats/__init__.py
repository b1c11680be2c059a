"""Comparisons of training results over seeds, built on scipy.stats and statsmodels.

Inputs are final test accuracies in percent. Diverged runs are excluded from means
(and counted); seeds missing from either order are dropped from paired tests.
"""

from layerorder.stats.decisions import PairDecision, decide_pairs, family_of, tost_p
from layerorder.stats.holm import holm
from layerorder.stats.interaction import Interaction, Observation, interaction_tests
from layerorder.stats.lr import LrPoint, LrRobustness, lr_point, lr_robustness
from layerorder.stats.paired import PairComparison, compare_pair, compare_pairs
from layerorder.stats.power import (
    min_detectable_difference,
    paired_power,
    seeds_needed,
    tost_power,
)
from layerorder.stats.reliability import Outcomes, SpreadComparison, compare_spread
from layerorder.stats.sequential import Design, boundaries, look_schedule, nominal_levels
from layerorder.stats.summary import OrderSummary, summarize
from layerorder.stats.verdict import Verdict, make_verdict

__all__ = [
    "Design",
    "Interaction",
    "LrPoint",
    "LrRobustness",
    "Observation",
    "OrderSummary",
    "Outcomes",
    "PairComparison",
    "PairDecision",
    "SpreadComparison",
    "Verdict",
    "boundaries",
    "compare_pair",
    "compare_pairs",
    "compare_spread",
    "decide_pairs",
    "family_of",
    "holm",
    "interaction_tests",
    "look_schedule",
    "lr_point",
    "lr_robustness",
    "make_verdict",
    "min_detectable_difference",
    "nominal_levels",
    "paired_power",
    "seeds_needed",
    "summarize",
    "tost_p",
    "tost_power",
]
