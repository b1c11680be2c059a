"""Checks of a whole experiment config that need the registries (orders, arch, data, device).

All of them run before a store is opened, so bad input never touches stored results.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator

from layerorder.archs import check_arch, check_heads, check_order_for_arch
from layerorder.data import check_dataset
from layerorder.errors import ConfigError, did_you_mean
from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.experiment.configuration.plan import check_goal
from layerorder.experiment.configuration.settings import (
    BY_NAME,
    LOOP,
    OWN,
    POOL_EXECUTORS,
    STACKING_EXECUTORS,
    UNSTACKED_EXECUTORS,
    WORKERS_EXECUTORS,
)
from layerorder.stats.metric import BUILT_IN
from layerorder.stats.text import join_names


def validate(config: ExperimentConfig) -> list[str]:
    """Raise a ``LayerorderError`` naming the first problem; else return notes (one line each)
    on settings that have no effect here."""
    _check_size(config)
    _check_analysis(config)
    if config.user_run:
        check_user_run(config)
    for cfg in condition_configs(config) if not config.user_run else ():
        info = check_dataset(cfg.dataset, **dict(cfg.data_options))
        if cfg.model:
            _check_model(cfg, info)
        else:
            check_architecture(cfg)
    if config.warmup > 0 and config.schedule == "onecycle":
        raise ConfigError(
            "--warmup needs --schedule cosine, step or constant: onecycle has its own warmup"
            " (its first 30 % of steps)"
        )
    import torch  # here, not above: a study file's orders are checked without it (study list)

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
        from layerorder.experiment.execution.ray_executor import require_ray

        require_ray()
    if config.executor == "slurm":
        from layerorder.experiment.execution.slurm import require_submitit

        require_submitit(config.slurm_cluster)
    if config.executor not in WORKERS_EXECUTORS and config.workers not in (None, 1):
        raise ConfigError(f"--workers needs --executor {join_names(WORKERS_EXECUTORS, 'or')},"
                          f" not {config.executor}")
    if config.stack_mode != "auto" and config.executor not in STACKING_EXECUTORS:
        raise ConfigError(f"--stack-mode {config.stack_mode} needs --executor"
                          f" {join_names(STACKING_EXECUTORS, 'or')}, not {config.executor}")
    return config.not_applied()


def condition_configs(config: ExperimentConfig) -> Iterator[ExperimentConfig]:
    """The config of each distinct condition the registries check (see below), unvaried."""
    for level in _conditions_to_check(config):
        if "data_options" in level:
            level = {**level, "data_options": tuple(sorted(level["data_options"].items()))}
        yield dataclasses.replace(config, **level, vary=())


def check_architecture(cfg: ExperimentConfig) -> None:
    """One condition's architecture takes each of its orders (and its heads); nothing is
    built. A user's model is checked by loading it instead."""
    if cfg.model:
        return
    check_arch(cfg.arch)
    for order in cfg.orders:
        check_order_for_arch(cfg.arch, order)
    if cfg.arch == "transformer":
        check_heads(cfg.width, cfg.heads)


def _conditions_to_check(config: ExperimentConfig) -> list[dict]:
    """The distinct settings the registries check (data set and its options, arch, width,
    depth) over every condition of the grid; [{}] when none of them varies."""
    checked = ("dataset", "data_options", "arch", "width", "depth", "heads")
    out: list[dict] = []
    for level in config.levels():
        part = {k: v for k, v in level.items() if k in checked}
        if part not in out:
            out.append(part)
    return out


def check_user_run(config: ExperimentConfig) -> None:
    """A run of the user's own: one kind of it, what it needs, and its command's placeholders."""
    if config.train is not None and config.command is not None:
        raise ConfigError("give train= or --command, not both: a run is one or the other")
    if config.model is not None:
        raise ConfigError(
            "--model is the built-in loop's; in your own run, rewrite your model with"
            " trial.rewrite(model, example_input)"
        )
    if config.metric is None:
        own = "--command" if config.command is not None else "train="
        raise ConfigError(f"a run of your own ({own}) needs --metric NAME: the metric it reports"
                          " that the comparison reads (and --goal min where lower is better)")
    if config.executor in STACKING_EXECUTORS:
        raise ConfigError(f"--executor {config.executor} trains the built-in models side by side;"
                          f" your own runs need {join_names(UNSTACKED_EXECUTORS, 'or')}")
    if config.run_timeout is not None and config.command is None:
        raise ConfigError("--run-timeout applies to --command runs: a train function runs inside"
                          " a layerorder process, which cannot stop it apart from that process")
    if config.command is not None:
        from layerorder.experiment.training.user_runs import command_argv, placeholders

        for run in config.runs()[: max(1, config.n_conditions) * len(config.orders)]:
            command_argv(config.command, placeholders(run))


def _check_analysis(config: ExperimentConfig) -> None:
    if not config.user_run and any(f.startswith("params.") for f in config.factors):
        raise ConfigError("--vary params.NAME varies a param of your own run (--command or"
                          " train=); the built-in loop has none")
    for factor in config.factors:
        setting = BY_NAME.get(factor)
        if setting is not None and setting.meta.runs == (LOOP if config.user_run else OWN):
            whose = ("the built-in loop's, not your own run's" if config.user_run
                     else "your own run's, not the built-in loop's")
            raise ConfigError(f"--vary {factor}: {factor} is {whose}; vary another setting")
    builtin = BUILT_IN.get(config.metric_name)
    if config.metric in BUILT_IN and config.user_run:
        raise ConfigError(
            f"metric '{config.metric_name}' is the built-in loop's (a fixed scale and direction);"
            " name your run's own metric differently, e.g. val_accuracy"
        )
    if builtin is not None and config.goal not in (None, builtin[1]):
        raise ConfigError(f"--goal {config.goal} contradicts {config.metric_name}, where"
                          f" {'higher' if builtin[1] == 'max' else 'lower'} is better")
    check_goal(config.metric_name, config.goal)
    if config.metric_name not in BUILT_IN and not config.user_run:
        raise ConfigError(
            f"metric '{config.metric}' is not one the built-in loop reports"
            f" ({', '.join(BUILT_IN)}); a metric of your own needs your own run"
            " (--command, or train= in Python)"
        )
    for field, _ in config.vary:
        setting = BY_NAME.get(field)
        if setting is not None and setting.applies is not None and not setting.applies(config):
            raise ConfigError(
                f"--vary {field}: {field} {setting.not_applied}; vary another setting"
            )
    if "lr" in config.factors and len(config.lr) > 1:
        raise ConfigError(
            "--vary lr and an --lr sweep together are ambiguous; give one --lr"
            " (each order is then compared at every varied lr)"
        )
    if config.baseline is not None and config.baseline not in config.orders:
        raise ConfigError(
            f"--baseline '{config.baseline}' is not one of the orders"
            f" {list(config.orders)}" + did_you_mean(config.baseline, config.orders)
        )
    if config.until_decided:
        if len(config.seeds) < 2:
            raise ConfigError(
                "--until-decided needs rounds of at least 2 seeds; use --seeds 3 or more"
            )
        if config.max_seeds < len(config.seeds):
            raise ConfigError(
                f"--max-seeds {config.max_seeds} is less than the first round's"
                f" {len(config.seeds)} seeds; raise --max-seeds"
            )


def _check_size(config: ExperimentConfig) -> None:
    """Limits that keep a typo from planning unbounded work (checked before anything else)."""
    seeds = config.max_seeds if config.until_decided else len(config.seeds)
    n = len(config.orders) * seeds * len(config.lr) * config.n_conditions
    if n > config.max_runs:
        levels = f" x {config.n_conditions} factor levels" if config.vary else ""
        raise ConfigError(
            f"the grid has {n:,} runs ({len(config.orders)} orders x {seeds} seeds x"
            f" {len(config.lr)} learning rates{levels}), more than max_runs ="
            f" {config.max_runs:,}; raise --max-runs if you mean it"
        )
    from layerorder.experiment.execution.executors import available_cores

    cores = available_cores()
    pool = config.executor in POOL_EXECUTORS
    if pool and config.workers is not None and config.workers > cores:
        raise ConfigError(
            f"--workers {config.workers} is more than the {cores} cores here; use at most {cores}"
        )


def _cuda(device: str) -> bool:
    import torch

    return device == "cuda" or (device == "auto" and torch.cuda.is_available())


def _cxx_compiler() -> str | None:
    names = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
    return next((found for name in names if name and (found := shutil.which(name))), None)


def _check_model(config: ExperimentConfig, info) -> None:
    """Rewrite the user's model to every order once, before anything is stored or trained."""
    from layerorder.experiment.training.target import AS_IS, target_variant
    from layerorder.order import parse_order

    if info.in_shape is None or info.num_classes is None:
        raise ConfigError(f"--model needs a data set of known input shape; '{info.name}' has none")
    for order in config.orders:
        if order != AS_IS:
            parse_order(order)
        target_variant(config.model, order, tuple(info.in_shape), info.num_classes)
