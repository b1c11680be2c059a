"""Checks of a whole experiment config that need the registries (orders, arch, data, device).

All of them run before a store is opened, so bad input never touches stored results.
"""

from __future__ import annotations

import torch

from layerorder.data import check_dataset
from layerorder.errors import ConfigError
from layerorder.experiment.config import ExperimentConfig
from layerorder.models import check_arch, check_order_for_arch


def validate(config: ExperimentConfig) -> None:
    """Raise a ``LayerorderError`` naming the first problem, or return None."""
    check_arch(config.arch)
    for order in config.orders:
        check_order_for_arch(config.arch, order)
    check_dataset(config.dataset, **dict(config.data_options))
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda asked for, but no CUDA device is available; use --device auto"
        )
    if config.executor in ("sequential", "stacked") and config.workers not in (None, 1):
        raise ConfigError(f"--workers needs --executor process (or auto), not {config.executor}")
