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
from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.experiment.configuration.settings import BY_NAME
from layerorder.stats.metric import BUILT_IN, Metric, looks_lower_is_better
from layerorder.stats.plan import DEFAULT_MARGIN, AnalysisPlan


def analysis_plan(config: ExperimentConfig) -> AnalysisPlan:
    """The plan of ``config``'s comparison, with the chance level of its data set as given (the
    base one where a factor varies it: a plan holds one chance level)."""
    chance = None if config.user_run else chance_level(  # a user's run has its own data
        config.dataset, tuple(sorted(dict(config.data_options).items())))
    return plan_of_grid(
        config.grid(), margin=config.margin, baseline=config.baseline, chance=chance,
        metric=config.compared_metric,
    )


def default_margin(metric: Metric) -> float:
    """The margin where none is given: half a point of accuracy; none (0: no equivalence test)
    for any other metric, whose scale layerorder cannot know."""
    return DEFAULT_MARGIN if metric.is_accuracy else 0.0


def plan_of_grid(
    grid: Mapping[str, Any],
    *,
    margin: float | None = None,
    baseline: str | None = None,
    chance: float | None = None,
    metric: Metric | None = None,
) -> AnalysisPlan:
    """The plan of an experiment whose grid (``ExperimentConfig.grid()``) is ``grid``, with the
    declared defaults where ``margin`` or ``baseline`` is None; ``chance``: the data set's chance
    level (points), None where it is not known (runs then never count as ending at chance)."""
    factors = tuple(grid.get("vary", ()))
    sequential = grid.get("sequential") or {}
    metric = metric or Metric()
    return AnalysisPlan(
        margin=default_margin(metric) if margin is None else margin,
        baseline=baseline,
        factors=factors,
        defaults=tuple((f, BY_NAME[f].default) for f in factors if f in BY_NAME),
        looks=tuple(sequential.get("looks", ())),
        seed_order=tuple(sequential["seeds"]) if "seeds" in sequential else None,
        chance=chance,
        metric=metric,
    )


def stored_plan(experiment, **given: Any) -> AnalysisPlan:
    """The plan ``compare`` stored with ``experiment`` (an ``ExperimentRecord``), else the one
    its stored grid implies (without a chance level: an experiment stored before plans were is
    analysed as it was then, and no data set is loaded to read it); then ``given`` analysis
    settings (``margin``, ``baseline``, ``metric``, ``goal``, ``metric_range``) where not None,
    each checked by its declared setting; another metric than the stored one takes its own
    default margin unless one is given."""
    plan = (
        AnalysisPlan.from_stored(experiment.plan)
        if experiment.plan is not None
        else plan_of_grid(experiment.config)
    )
    given = {k: BY_NAME[k].coerce(v) for k, v in given.items() if v is not None}
    named = {k: given.pop(k) for k in ("metric", "goal", "metric_range") if k in given}
    if named:
        old = plan.metric
        same = named.get("metric", old.name) == old.name  # the stored metric keeps its own
        metric = Metric.named(named.get("metric", old.name),
                           named.get("goal", old.goal if same else None),
                           named.get("metric_range", old.bounds if same else None))
        check_goal(metric.name, named.get("goal") or (old.goal if same else None))
        if metric.name != old.name and "margin" not in given:
            given["margin"] = default_margin(metric)
        given["metric"] = metric
    return dataclasses.replace(plan, **given)


def check_goal(metric: str, goal: str | None) -> None:
    """A metric named like a loss or an error must say its direction: read as higher-is-better
    it would invert every verdict."""
    if goal is None and metric not in BUILT_IN and looks_lower_is_better(metric):
        raise ConfigError(
            f"metric '{metric}' reads like a loss or an error: say which way is better with"
            " --goal min (or --goal max)"
        )
