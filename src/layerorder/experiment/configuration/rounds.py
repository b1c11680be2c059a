"""Seeds in rounds until every pair is decided (``--until-decided``).

Each round is an ordinary sweep of the first n seeds, so a killed round resumes like any sweep,
and running the command again replays the same looks on the stored runs and stops where it
stopped before (or trains on where it was cut off).
"""

from __future__ import annotations

import dataclasses

from layerorder.experiment.configuration.config import ExperimentConfig, design_of, seed_order


def rounds(config: ExperimentConfig) -> list[ExperimentConfig]:
    """The config of each round (one for a fixed design)."""
    if not config.until_decided:
        return [config]
    order = seed_order(config)
    return [dataclasses.replace(config, seeds=order[:n]) for n in design_of(config).looks]
