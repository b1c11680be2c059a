"""A Transformer encoder classifier whose order is the norm placement of its sublayers.

Input (C, L) is read as L tokens of C features (an image row by row): a linear embedding plus a
learned position embedding, ``depth`` encoder layers (attention then MLP, each residual sublayer
normalised where the placement says; see ``layerorder.blocks.sublayer``), a final norm for pre-
and sandwich placements, the mean over tokens and a linear head. Defaults are sized for a CPU:
width 64, 2 layers, 4 heads, MLP width 4 x width.
"""

from __future__ import annotations

import torch
from torch import nn

from layerorder.archs import check_heads
from layerorder.blocks.sublayer import EncoderLayer, create_token_norm
from layerorder.models.base import LayerOrderNet, as_sequence_shape
from layerorder.placements import parse_placement

DEFAULT_DEPTH = 2


class Tokens(nn.Module):
    """(N, C, L) or (N, L) samples -> (N, L, width) token embeddings with positions."""

    def __init__(self, channels: int, length: int, width: int):
        super().__init__()
        self.channels, self.length = channels, length
        self.embed = nn.Linear(channels, width)
        self.position = nn.Parameter(torch.zeros(1, length, width))
        nn.init.normal_(self.position, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], self.channels, self.length).transpose(1, 2)
        return self.embed(x) + self.position


class MeanTokens(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)


def build_transformer(
    order: str, *, in_shape, num_classes: int, width: int | None, depth: int | None,
    p_drop: float, heads: int | None = None,
) -> LayerOrderNet:
    placement = parse_placement(order)
    width, heads = check_heads(width, heads)
    depth = depth or DEFAULT_DEPTH
    channels, length = as_sequence_shape(tuple(in_shape))
    layers = [EncoderLayer(width, heads, 4 * width, placement, p_drop) for _ in range(depth)]
    final = create_token_norm(placement.norm, width) if placement.final_norm else None
    return LayerOrderNet(
        arch="transformer",
        label=placement.spec,
        reshape=Tokens(channels, length, width),
        features=nn.Sequential(*layers),
        final=final,
        pool=MeanTokens(),
        head=nn.Linear(width, num_classes),
        note=(f"transformer encoder, {depth} layers of width {width}, {heads} heads, {length}"
              f" tokens of {channels} features; {placement.spec} sublayers"
              + ("; a final norm follows the last layer" if final is not None else "")),
    )
