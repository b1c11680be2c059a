"""Gradient flow per weight layer: gradient norm and gradient-norm / weight-norm.

A layer is named as vanishing or exploding when its ratio is ``factor`` times below or above the
median ratio over the model's weight layers (or when its gradient is zero or not finite).
"""

from __future__ import annotations

import math
import statistics

import torch
from torch import nn

from layerorder.probe.records import GradFlow

WEIGHT_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
DEFAULT_FACTOR = 100.0


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_TYPES)]


@torch.no_grad()
def grad_flow(model: nn.Module, *, factor: float = DEFAULT_FACTOR) -> list[GradFlow]:
    """Read the gradients already in ``.grad`` (after a backward pass)."""
    layers = [(n, m) for n, m in weight_layers(model) if m.weight.grad is not None]
    if not layers:
        return []
    norms = torch.stack(
        [torch.stack((m.weight.grad.norm(), m.weight.norm())) for _, m in layers]
    ).tolist()  # one host sync for all layers
    ratios = [g / w if w > 0 else math.inf for g, w in norms]
    finite = [r for r in ratios if math.isfinite(r) and r > 0]
    median = statistics.median(finite) if finite else math.nan
    out = []
    for (name, module), (g, w), r in zip(layers, norms, ratios):
        out.append(GradFlow(name, type(module).__name__, g, w, r, _status(g, r, median, factor)))
    return out


def _status(grad: float, ratio: float, median: float, factor: float) -> str:
    if not math.isfinite(grad) or not math.isfinite(ratio):
        return "exploding"
    if grad == 0.0:
        return "vanishing"
    if math.isfinite(median) and ratio < median / factor:
        return "vanishing"
    if math.isfinite(median) and ratio > median * factor:
        return "exploding"
    return "ok"


def flagged(records: list[GradFlow]) -> list[str]:
    """Names of the layers that vanish or explode, with their status."""
    return [f"{r.name} ({r.status})" for r in records if r.status != "ok"]
