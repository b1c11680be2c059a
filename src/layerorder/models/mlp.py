"""Multi-layer perceptron: Linear blocks in the given order, then a linear head."""

from __future__ import annotations

import math

from torch import nn

from layerorder.blocks import block
from layerorder.models.base import LayerOrderNet, final_norm_act, preact_note
from layerorder.order import Order


def build_mlp(
    order: Order,
    *,
    in_shape,
    num_classes: int,
    width: int | None,
    depth: int | None,
    p_drop: float,
    final_norm: bool = True,
) -> LayerOrderNet:
    width, depth = width or 128, depth or 2
    in_features = math.prod(in_shape)
    blocks, channels = [], in_features
    for i in range(depth):
        blk_order = order.for_first_block() if i == 0 else order
        blocks.append(block(blk_order, channels, width, ndim="linear", p_drop=p_drop))
        channels = width
    final = final_norm_act(order, "linear", width, final_norm)
    return LayerOrderNet(
        arch="mlp",
        label=order.label,
        reshape=nn.Flatten(),
        features=nn.Sequential(*blocks),
        final=final,
        pool=nn.Identity(),
        head=nn.Linear(width, num_classes),
        note=preact_note(order, final),
    )
