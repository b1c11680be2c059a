"""Training K runs that differ only in their seed as one stacked model.

Each replica keeps everything a run trained alone has: its initialisation (built under its own
seed), its data order (its own generator), its dropout masks (its own random stream), its own
loss and optimizer state (Adam and SGD are element-wise). The results are unstacked into ordinary
per-run records, so the store cannot tell the two executors apart.
"""

from __future__ import annotations

import torch
from torch import nn

from layerorder.blocks.dropout import seed_dropout
from layerorder.experiment.configuration.config import RunConfig
from layerorder.experiment.training.loop import Replicas, TrainResult, fit
from layerorder.experiment.training.stacking import (
    per_replica,
    rng_state,
    stack_models,
    unstack_into,
)
from layerorder.seeding import seed_run


class StackedReplicas(Replicas):
    """K runs side by side in one wide model: replica j owns channel block j of every map."""

    def __init__(self, wide: nn.Module, models: list[nn.Module]):
        super().__init__(wide)
        self.k, self.models = len(models), models

    def _shape(self, x: torch.Tensor) -> torch.Tensor:
        return self.models[0].reshape(x)

    def inputs(self, x: torch.Tensor, idxs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([self._shape(x[i]) for i in idxs], dim=1)

    def targets(self, y: torch.Tensor, idxs: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([y[i] for i in idxs], dim=1)  # (B, K)

    def losses(self, loss_fn, out: torch.Tensor, yb: torch.Tensor):
        out = self.split(out, len(yb))
        losses = torch.stack([loss_fn(out[:, j], yb[:, j]) for j in range(self.k)])
        return losses.sum(), losses

    def hits(self, task, out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return task.hits(self.split(out, len(yb)), yb).sum(0)

    def eval_inputs(self, xb: torch.Tensor) -> torch.Tensor:
        xb = self._shape(xb)
        return xb.repeat(1, self.k, *([1] * (xb.dim() - 2)))


def train_stacked(
    models: list[nn.Module], data, cfgs: list[RunConfig], on_epoch=None, compile_model=False,
    mode: str = "auto",
) -> list[TrainResult]:
    """Train ``models`` (built under their own seeds) on ``data`` as one model; one result each.
    ``mode``: ``stack_mode`` (auto, exact or batched; ``training.stacking``).

    ``--amp`` and ``--compile`` apply to the wide model as they do to a single run's."""
    device = next(models[0].parameters()).device
    streams = []
    for c in cfgs:  # each run's dropout stream starts where training alone would start it
        seed_run(c.seed, device)  # as a run trained alone seeds its device's generators
        streams.append(rng_state(device))
    for model, c in zip(models, cfgs):
        seed_dropout(model, c.seed)  # element dropout on the CPU: the run's own mask stream
    exact = per_replica(mode, device)
    wide = stack_models(models, streams, exact).to(next(models[0].parameters()))  # and dtype
    results = fit(
        StackedReplicas(wide, models), data, cfgs, on_epoch=on_epoch, compile_model=compile_model
    )
    unstack_into(wide, models)
    return results
