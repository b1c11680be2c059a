"""An experiment's analysis plan, made one way for ``compare``, ``report``, studies and search.

``plan_of_grid`` reads it from what names the experiment in the store (``ExperimentConfig.grid()``:
the varied factors, the sequential design's looks and seed order) and the analysis settings
(margin, baseline); ``analysis_plan`` adds the data set's chance level. ``compare`` stores the
plan it analysed with beside its experiment (``Store.save_plan``); ``stored_plan`` reads it back,
or makes it from the stored grid for an experiment stored before plans were, and lets the
caller's margin or baseline win.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from layerorder.data import chance_level
from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.experiment.configuration.settings import BY_NAME
from layerorder.stats.plan import AnalysisPlan


def analysis_plan(config: ExperimentConfig) -> AnalysisPlan:
    """The plan of ``config``'s comparison, with the chance level of its data set as given (the
    base one where a factor varies it: a plan holds one chance level)."""
    chance = chance_level(config.dataset, tuple(sorted(dict(config.data_options).items())))
    return plan_of_grid(config.grid(), margin=config.margin, baseline=config.baseline,
                        chance=chance)


def plan_of_grid(grid: Mapping[str, Any], *, margin: float | None = None,
                 baseline: str | None = None, chance: float | None = None) -> AnalysisPlan:
    """The plan of an experiment whose grid (``ExperimentConfig.grid()``) is ``grid``, with the
    declared defaults where ``margin`` or ``baseline`` is None; ``chance``: the data set's chance
    level (points), None where it is not known (runs then never count as ending at chance)."""
    factors = tuple(grid.get("vary", ()))
    sequential = grid.get("sequential") or {}
    return AnalysisPlan(
        margin=BY_NAME["margin"].default if margin is None else margin,
        baseline=baseline,
        factors=factors,
        defaults=tuple((f, BY_NAME[f].default) for f in factors if f in BY_NAME),
        looks=tuple(sequential.get("looks", ())),
        seed_order=tuple(sequential["seeds"]) if "seeds" in sequential else None,
        chance=chance,
    )


def stored_plan(experiment, **given: Any) -> AnalysisPlan:
    """The plan ``compare`` stored with ``experiment`` (an ``ExperimentRecord``), else the one
    its stored grid implies (without a chance level: an experiment stored before plans were is
    analysed as it was then, and no data set is loaded to read it); then ``given`` analysis
    settings (``margin``, ``baseline``) where not None, each checked by its declared setting."""
    plan = (AnalysisPlan.from_stored(experiment.plan) if experiment.plan is not None
            else plan_of_grid(experiment.config))
    return dataclasses.replace(
        plan, **{k: BY_NAME[k].coerce(v) for k, v in given.items() if v is not None})
