"""``layerorder search``: which order should this model use? The order space of a block, a
budgeted successive-halving search over it, and a comparison of the finalists on fresh seeds."""

from layerorder.search.model_space import SameFunction, experiment_space, model_base
from layerorder.search.run import (
    SELECTION_SEED,
    RoundPlan,
    RoundResult,
    Score,
    SearchPlan,
    SearchResult,
    plan_search,
    run_search,
)
from layerorder.search.space import (
    Candidate,
    OrderSpace,
    canonical,
    named_space,
    order_space,
)

__all__ = [
    "SELECTION_SEED",
    "Candidate",
    "OrderSpace",
    "RoundPlan",
    "RoundResult",
    "SameFunction",
    "Score",
    "SearchPlan",
    "SearchResult",
    "canonical",
    "experiment_space",
    "model_base",
    "named_space",
    "order_space",
    "plan_search",
    "run_search",
]
