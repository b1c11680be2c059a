"""Turning raw arrays into a ``Dataset``: stratified splits, per-channel normalisation."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from layerorder.data.base import Dataset, DatasetError, DatasetInfo

_MIN_STD = 1e-8


def stratified_split(
    y: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices holding ``round(n_c * test_fraction)`` of each class in test.

    Both index arrays come back shuffled (classes interleaved), drawn from ``rng``.
    """
    y = np.asarray(y)
    train_parts, test_parts = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(len(members) * test_fraction))
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    train = rng.permutation(np.concatenate(train_parts))
    test = rng.permutation(np.concatenate(test_parts))
    return train, test


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of ``x`` (N, C, ...), shaped to broadcast."""
    dims = [0, *range(2, x.ndim)]
    var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)
    std = var.sqrt()
    std = torch.where(std < _MIN_STD, torch.ones_like(std), std)
    return mean, std


def _as_float(x: Any, in_shape: tuple[int, ...], what: str) -> torch.Tensor:
    tensor = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    tensor = tensor.to(torch.float32)
    expected = int(np.prod(in_shape))
    if tensor.ndim == 0 or tensor[0].numel() != expected:
        raise DatasetError(f"{what}: cannot reshape samples of {tuple(tensor.shape)} to {in_shape}")
    return tensor.reshape(len(tensor), *in_shape)


def _as_labels(y: Any) -> torch.Tensor:
    tensor = y if isinstance(y, torch.Tensor) else torch.from_numpy(np.asarray(y))
    return tensor.to(torch.int64).reshape(-1).clone().contiguous()


def build_dataset(
    info: DatasetInfo,
    *,
    x_train: Any,
    y_train: Any,
    x_test: Any,
    y_test: Any,
    in_shape: tuple[int, ...],
    num_classes: int,
    options: dict[str, Any],
) -> Dataset:
    """A ``Dataset`` from arrays or tensors: reshaped to ``(N, *in_shape)``, float32
    normalised per channel with the train split's statistics, int64 labels.

    The result never shares memory with the inputs (cached arrays stay intact).
    """
    in_shape = tuple(int(d) for d in in_shape)
    xtr = _as_float(x_train, in_shape, f"{info.name} train")
    xte = _as_float(x_test, in_shape, f"{info.name} test")
    mean, std = channel_stats(xtr)
    return Dataset(
        name=info.name,
        x_train=((xtr - mean) / std).contiguous(),
        y_train=_as_labels(y_train),
        x_test=((xte - mean) / std).contiguous(),
        y_test=_as_labels(y_test),
        in_shape=in_shape,
        num_classes=int(num_classes),
        description=info.description,
        source=info.source,
        options=dict(options),
    )
