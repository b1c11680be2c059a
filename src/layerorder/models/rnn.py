"""A recurrent classifier whose order is the cell and where its norm goes (``lstm-ln``,
``gru-bn-ih``, ...; see ``layerorder.blocks.recurrent``).

Input (C, L) is read as L steps of C features (an image row by row); ``depth`` stacked layers of
``width`` units (defaults 1 x 64); the last step's output goes to a linear head.
"""

from __future__ import annotations

import torch
from torch import nn

from layerorder.blocks.recurrent import RecurrentLayer
from layerorder.models.base import LayerOrderNet, as_sequence_shape
from layerorder.placements import parse_recurrent

DEFAULT_WIDTH, DEFAULT_DEPTH = 64, 1


class Steps(nn.Module):
    """(N, C, L) or (N, L) samples -> (N, L, C) steps."""

    def __init__(self, channels: int, length: int):
        super().__init__()
        self.channels, self.length = channels, length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], self.channels, self.length).transpose(1, 2)


class LastStep(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1]


def build_rnn(order: str, *, in_shape, num_classes: int, width: int | None, depth: int | None,
              p_drop: float) -> LayerOrderNet:
    spec = parse_recurrent(order)
    width, depth = width or DEFAULT_WIDTH, depth or DEFAULT_DEPTH
    channels, length = as_sequence_shape(tuple(in_shape))
    layers: list[nn.Module] = []
    for i in range(depth):
        layers.append(RecurrentLayer(spec, channels if i == 0 else width, width))
        if i < depth - 1 and p_drop > 0:
            layers.append(nn.Dropout(p_drop))  # between layers, as nn.LSTM(dropout=...)
    return LayerOrderNet(
        arch="rnn",
        label=spec.spec,
        reshape=Steps(channels, length),
        features=nn.Sequential(*layers),
        final=None,
        pool=LastStep(),
        head=nn.Linear(width, num_classes),
        note=f"{spec.cell} x {depth} of width {width} over {length} steps of {channels} features;"
        f" norms: {spec.norms}",
    )
