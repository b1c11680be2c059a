"""The records of the data package: a loaded data set, a registry entry's info, the error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from layerorder.errors import LayerorderError

if TYPE_CHECKING:
    import torch


class DatasetError(LayerorderError, ValueError):
    """A data set cannot be found, configured or loaded as asked."""


def format_size(num_train: int, num_test: int) -> str:
    """Human text like "4,000 train / 1,000 test"."""
    return f"{num_train:,} train / {num_test:,} test"


@dataclass(frozen=True)
class DatasetInfo:
    """A registry entry, cheap to make: no data is loaded.

    ``in_shape`` and ``num_classes`` are those of the default options, or None where
    they depend on the data (an image folder). ``options`` holds the default values.
    ``requires`` names an optional package the loader needs (e.g. "torchvision").
    """

    name: str
    description: str
    source: str
    in_shape: tuple[int, ...] | None
    num_classes: int | None
    size: str
    options: dict = field(default_factory=dict, hash=False)
    requires: str | None = None


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set held in memory as tensors, ready to train on.

    ``x_*`` are float32 of shape ``(N, *in_shape)``, normalised per channel with the
    training split's mean and standard deviation; ``y_*`` are int64 class indices.
    ``options`` are the options actually used, including ``seed``.
    Equality is identity: compare tensors explicitly.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    in_shape: tuple[int, ...]
    num_classes: int
    description: str
    source: str
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if tuple(x.shape[1:]) != tuple(self.in_shape):
                raise DatasetError(
                    f"data set '{self.name}': x_{split} has sample shape {tuple(x.shape[1:])}, "
                    f"expected {tuple(self.in_shape)}"
                )
            if y.ndim != 1 or len(y) != len(x):
                raise DatasetError(
                    f"data set '{self.name}': y_{split} must have shape ({len(x)},), "
                    f"got {tuple(y.shape)}"
                )

    @property
    def num_train(self) -> int:
        return len(self.y_train)

    @property
    def num_test(self) -> int:
        return len(self.y_test)

    @property
    def chance(self) -> float:
        """The chance level in points: the test split's share of its most frequent class (what
        always answering that class scores)."""
        if self.num_test == 0:
            return float("nan")
        import torch

        counts = torch.bincount(self.y_test.long())
        return 100.0 * float(counts.max()) / self.num_test

    def summary(self) -> str:
        """One line, e.g. "mnist1d: 4,000 train / 1,000 test, input (1, 40), 10 classes"."""
        size = format_size(self.num_train, self.num_test)
        return f"{self.name}: {size}, input {tuple(self.in_shape)}, {self.num_classes} classes"
