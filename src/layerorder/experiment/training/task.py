"""What a run learns: the task gives the training loop its loss and its metric.

The loop (``layerorder.experiment.training.loop.fit``) never names a loss: it asks the task, so a
new task (per-token sequence prediction, regression) is a new entry here, not a copy of the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Classification:
    """Cross-entropy (with optional label smoothing) and top-1 accuracy in percent."""

    label_smoothing: float = 0.0
    metric: str = "acc"

    def loss_fn(self) -> nn.Module:
        """The training loss: mean over the batch."""
        return nn.CrossEntropyLoss(label_smoothing=self.label_smoothing)

    def eval_loss_sum(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The evaluation loss summed over the batch (plain cross-entropy, no smoothing)."""
        return nn.functional.cross_entropy(out, y, reduction="sum")

    def hits(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per sample, whether the prediction is right (``out`` has classes in its last dim)."""
        return out.argmax(-1) == y


TASKS: dict[str, Callable[..., Classification]] = {
    "classification": lambda cfg: Classification(label_smoothing=cfg.label_smoothing),
}


def task_for(cfg, name: str = "classification") -> Classification:
    """The task of a run config (every built-in data set is a classification task today)."""
    return TASKS[name](cfg)
