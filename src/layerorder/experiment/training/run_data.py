"""A run's device and data set: ``auto`` resolved, the data set loaded once per process and moved
to the device, for the built-in loop, stacked runs, probes and executors alike."""

from __future__ import annotations

import dataclasses
import functools

import torch

from layerorder.experiment.configuration.config import RunConfig


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@functools.lru_cache(maxsize=4)
def cached_dataset(name: str, options: tuple, device: str):
    from layerorder.data import load_dataset

    return on_device(load_dataset(name, **dict(options)), device)


def on_device(data, device: str):
    if device == "cpu" or data.x_train.device.type == device:
        return data
    return dataclasses.replace(
        data,
        x_train=data.x_train.to(device),
        y_train=data.y_train.to(device),
        x_test=data.x_test.to(device),
        y_test=data.y_test.to(device),
    )


def load_run_data(cfg: RunConfig, device: str):
    """The run's data set on its device; cached per process, so a sweep loads it once."""
    return cached_dataset(cfg.dataset, tuple(sorted(cfg.data_options.items())), device)
