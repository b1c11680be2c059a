"""``layerorder search``: which order should this model use? The order space of a block, a
budgeted successive-halving search over it, and a comparison of the finalists on fresh seeds."""

from layerorder.lazy import lazy_names

# public name -> the module that defines it, imported on first use (the light parts, the
# budget, need neither torch nor the statistics)
_LAZY = {
    **dict.fromkeys(("SameFunction", "experiment_space", "model_base"), "model_space"),
    **dict.fromkeys(("SELECTION_SEED", "RoundPlan", "RoundResult", "Score", "SearchPlan",
                     "SearchResult", "plan_search", "run_search"), "run"),
    **dict.fromkeys(("Candidate", "OrderSpace", "canonical", "named_space", "order_space"),
                    "space"),
}
__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
