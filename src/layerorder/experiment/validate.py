"""Checks of a whole experiment config that need the registries (orders, arch, data, device).

All of them run before a store is opened, so bad input never touches stored results.
"""

from __future__ import annotations

import os
import shutil

import torch

from layerorder.data import check_dataset
from layerorder.errors import ConfigError
from layerorder.experiment.config import ExperimentConfig
from layerorder.experiment.executors import available_cores
from layerorder.models import check_arch, check_order_for_arch


def validate(config: ExperimentConfig) -> list[str]:
    """Raise a ``LayerorderError`` naming the first problem; else return notes (one line each)
    on settings that have no effect here."""
    _check_size(config)
    info = check_dataset(config.dataset, **dict(config.data_options))
    if config.model:
        _check_model(config, info)
    else:
        check_arch(config.arch)
        for order in config.orders:
            check_order_for_arch(config.arch, order)
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda asked for, but no CUDA device is available; use --device auto"
        )
    if config.compile and not _cuda(config.device) and not _cxx_compiler():
        raise ConfigError(
            "--compile on the CPU needs a C++ compiler (g++, c++ or clang++) on PATH;"
            " install one or leave out --compile"
        )
    if config.executor == "ray":
        from layerorder.experiment.ray_executor import require_ray

        require_ray()
    if config.executor in ("sequential", "stacked") and config.workers not in (None, 1):
        raise ConfigError(f"--workers needs --executor process (or auto), not {config.executor}")
    return config.not_applied()


def _check_size(config: ExperimentConfig) -> None:
    """Limits that keep a typo from planning unbounded work (checked before anything else)."""
    n = len(config.orders) * len(config.seeds) * len(config.lr)
    if n > config.max_runs:
        raise ConfigError(
            f"the grid has {n:,} runs ({len(config.orders)} orders x {len(config.seeds)} seeds x"
            f" {len(config.lr)} learning rates), more than max_runs = {config.max_runs:,};"
            f" raise --max-runs if you mean it"
        )
    cores = available_cores()
    pool = config.executor in ("auto", "process")
    if pool and config.workers is not None and config.workers > cores:
        raise ConfigError(
            f"--workers {config.workers} is more than the {cores} cores here; use at most {cores}"
        )


def _cuda(device: str) -> bool:
    return device == "cuda" or (device == "auto" and torch.cuda.is_available())


def _cxx_compiler() -> str | None:
    names = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
    return next((found for name in names if name and (found := shutil.which(name))), None)


def _check_model(config: ExperimentConfig, info) -> None:
    """Rewrite the user's model to every order once, before anything is stored or trained."""
    from layerorder.experiment.target import AS_IS, target_variant
    from layerorder.order import parse_order

    if info.in_shape is None or info.num_classes is None:
        raise ConfigError(f"--model needs a data set of known input shape; '{info.name}' has none")
    for order in config.orders:
        if order != AS_IS:
            parse_order(order)
        target_variant(config.model, order, tuple(info.in_shape), info.num_classes)
