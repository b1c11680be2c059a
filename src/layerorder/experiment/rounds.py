"""Seeds in rounds until every pair is decided (``--until-decided``), and the analysis options
that a config implies (margin, baseline, factors, the sequential design).

Each round is an ordinary sweep of the first n seeds, so a killed round resumes like any sweep,
and running the command again replays the same looks on the stored runs and stops where it
stopped before (or trains on where it was cut off).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from layerorder.data import chance_level
from layerorder.experiment.config import ExperimentConfig, design_of, seed_order


def analysis_options(config: ExperimentConfig) -> dict[str, Any]:
    """Keyword arguments of ``layerorder.stats.analysis.analyze`` for this config."""
    return {
        "margin": config.margin,
        "baseline": config.baseline,
        "factors": config.factors,
        "design": design_of(config),
        "seed_order": seed_order(config),
        "chance": config_chance(config),
    }


def config_chance(config: ExperimentConfig) -> float:
    """The chance level of the experiment's data set (points), for the reliability tests."""
    return chance_level(config.dataset, tuple(sorted(dict(config.data_options).items())))


def rounds(config: ExperimentConfig) -> list[ExperimentConfig]:
    """The config of each round (one for a fixed design)."""
    if not config.until_decided:
        return [config]
    order = seed_order(config)
    return [dataclasses.replace(config, seeds=order[:n]) for n in design_of(config).looks]
