"""A checked experiment config from the caller's settings, a TOML file, and their own data and
model: the one way ``compare``, ``probe``, search and studies turn what they were given into an
``ExperimentConfig`` (and its notes on settings without effect)."""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.callables import register_model_factory, register_train
from layerorder.experiment.configuration.code import code_fingerprint
from layerorder.experiment.configuration.config import ExperimentConfig, load_toml, merge_config


def model_target(model: Any) -> str | None:
    """A model setting as a config holds it: a target string; callables are registered."""
    return _callable_target(model, "model", register_model_factory)


def train_target(train: Any) -> str | None:
    """A train setting as a config holds it: a target string; a function is registered."""
    return _callable_target(train, "train", register_train)


def _callable_target(value: Any, what: str, register: Callable[[Any], str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().startswith("__main__:"):
        # the driver's own __main__ (a notebook, ``python -c``): workers have another one
        attr = value.strip().split(":", 1)[1]
        main = sys.modules.get("__main__")
        if main is None or not hasattr(main, attr):
            raise ConfigError(f"{what} '{value}': __main__ has no attribute '{attr}'")
        return register(getattr(main, attr))
    if isinstance(value, str):
        return value
    return register(value)


def make_experiment(
    settings: dict[str, Any],
    *,
    data: Any = None,
    data_name: str | None = None,
    model: Any = None,
    train: Any = None,
    config: str | Path | None = None,
    notes: Callable[[str], None] | None = None,
) -> ExperimentConfig:
    """A checked config from a TOML file, then ``settings`` (keyword values win), with the
    caller's data and model registered; notes on settings without effect go to ``notes``."""
    from layerorder.data.memory import register_arrays
    from layerorder.experiment.validate import validate

    values = {k: v for k, v in settings.items() if v is not None}
    if data is not None:
        values["dataset"] = register_arrays(data, data_name)
    elif data_name is not None:
        raise ConfigError("data_name names the arrays given as data=; give data= too")
    if model is not None or "model" in values:
        values["model"] = model_target(values.get("model") if model is None else model)
    if train is not None or "train" in values:
        values["train"] = train_target(values.get("train") if train is None else train)
    file_values = load_toml(config) if config is not None else {}
    source = f"'{config}'" if config is not None else "arguments"
    cfg = merge_config(file_values, values, source)
    if cfg.user_run:  # an edit of the user's code gives new run keys
        cfg = dataclasses.replace(cfg, code_hash=code_fingerprint(cfg))
    for line in validate(cfg):
        (notes or _warn)(line)
    return cfg


def _warn(line: str) -> None:
    warnings.warn(line, UserWarning, stacklevel=4)
