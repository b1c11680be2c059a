"""Comparisons of training results over seeds, built on scipy.stats.

Inputs are final test accuracies in percent. Diverged runs are excluded from means
(and counted); seeds missing from either order are dropped from paired tests.
"""

from layerorder.stats.holm import holm
from layerorder.stats.lr import LrPoint, LrRobustness, lr_point, lr_robustness
from layerorder.stats.paired import PairComparison, compare_pair, compare_pairs
from layerorder.stats.power import min_detectable_difference, paired_power, seeds_needed
from layerorder.stats.summary import OrderSummary, summarize
from layerorder.stats.verdict import Verdict, make_verdict

__all__ = [
    "LrPoint",
    "LrRobustness",
    "OrderSummary",
    "PairComparison",
    "Verdict",
    "compare_pair",
    "compare_pairs",
    "holm",
    "lr_point",
    "lr_robustness",
    "make_verdict",
    "min_detectable_difference",
    "paired_power",
    "seeds_needed",
    "summarize",
]
