"""An experiment's analysis plan, made one way for ``compare``, ``report``, studies and search.

``plan_of_grid`` reads it from what names the experiment in the store (``ExperimentConfig.grid()``:
the varied factors, the sequential design's looks and seed order, the data set) and the analysis
settings (margin, baseline). ``compare`` stores the plan it analysed with beside its experiment
(``Store.save_plan``); ``stored_plan`` reads it back, or makes it from the stored grid for an
experiment stored before plans were, and lets the caller's margin or baseline win.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from layerorder.data import chance_level
from layerorder.errors import LayerorderError
from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.experiment.configuration.settings import BY_NAME
from layerorder.stats.plan import AnalysisPlan


def analysis_plan(config: ExperimentConfig) -> AnalysisPlan:
    """The plan of ``config``'s comparison."""
    return plan_of_grid(config.grid(), margin=config.margin, baseline=config.baseline)


def plan_of_grid(grid: Mapping[str, Any], *, margin: float | None = None,
                 baseline: str | None = None) -> AnalysisPlan:
    """The plan of an experiment whose grid (``ExperimentConfig.grid()``) is ``grid``, with the
    declared defaults where ``margin`` or ``baseline`` is None."""
    factors = tuple(grid.get("vary", ()))
    sequential = grid.get("sequential") or {}
    return AnalysisPlan(
        margin=BY_NAME["margin"].default if margin is None else margin,
        baseline=baseline,
        factors=factors,
        defaults=tuple((f, BY_NAME[f].default) for f in factors if f in BY_NAME),
        looks=tuple(sequential.get("looks", ())),
        seed_order=tuple(sequential["seeds"]) if "seeds" in sequential else None,
        chance=_chance(grid),
    )


def _chance(grid: Mapping[str, Any]) -> float | None:
    """The data set's chance level (points); None where the data set varies, or cannot be loaded
    here (an in-memory data set registered by another process): the reliability tests then
    count no run as ending at chance."""
    if "dataset" not in grid:
        return None
    try:
        return chance_level(grid["dataset"], tuple(sorted(dict(grid.get("data_options") or {})
                                                          .items())))
    except LayerorderError:
        return None


def stored_plan(experiment, **given: Any) -> AnalysisPlan:
    """The plan ``compare`` stored with ``experiment`` (an ``ExperimentRecord``), else the one
    its stored grid implies; then ``given`` analysis settings (``margin``, ``baseline``) where
    not None, each checked by its declared setting."""
    plan = (AnalysisPlan.from_stored(experiment.plan) if experiment.plan is not None
            else plan_of_grid(experiment.config))
    return dataclasses.replace(
        plan, **{k: BY_NAME[k].coerce(v) for k, v in given.items() if v is not None})
