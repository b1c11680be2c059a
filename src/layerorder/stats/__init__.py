"""Comparisons of training results over seeds, built on scipy.stats and statsmodels.

Inputs are final test accuracies in percent. Diverged runs are excluded from means
(and counted); seeds missing from either order are dropped from paired tests.

The names below load on first use (PEP 562), for start-up time: ``layerorder.stats.plan``, which a
config reads, must not pull in scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

# eager: the submodule has the function's name, and importing it would otherwise rebind it here
from layerorder.stats.holm import holm as holm

_HOME = {
    "decisions": ("PairDecision", "decide_pairs", "family_of", "tost_p"),
    "interaction": ("Interaction", "Observation", "interaction_tests"),
    "lr": ("LrPoint", "LrRobustness", "lr_point", "lr_robustness"),
    "paired": ("PairComparison", "compare_pair", "compare_pairs"),
    "plan": ("AnalysisPlan", "DEFAULT_MARGIN"),
    "power": ("min_detectable_difference", "paired_power", "seeds_needed", "tost_power"),
    "reliability": ("Outcomes", "SpreadComparison", "compare_spread"),
    "sequential": ("Design", "boundaries", "look_schedule", "nominal_levels"),
    "summary": ("OrderSummary", "summarize"),
    "verdict": ("Verdict", "make_verdict"),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}
__all__ = sorted([*_MODULE_OF, "holm"])


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'layerorder.stats' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"layerorder.stats.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
