"""Plain convolutional networks: ``cnn1d`` (sized for MNIST-1D) and a VGG-style ``cnn2d``."""

from __future__ import annotations

from torch import nn

from layerorder.blocks import block
from layerorder.blocks.registry import pool_padding
from layerorder.models.base import (
    LayerOrderNet,
    Reshape,
    as_image_shape,
    as_sequence_shape,
    final_norm_act,
    preact_note,
)
from layerorder.order import Order


def _conv_out(length: int, kernel: int, stride: int, padding: int) -> int:
    return (length + 2 * padding - kernel) // stride + 1


def build_cnn1d(
    order: Order,
    *,
    in_shape,
    num_classes: int,
    width: int | None,
    depth: int | None,
    p_drop: float,
    final_norm: bool = True,
) -> LayerOrderNet:
    """``depth`` conv blocks (default 3) of ``width`` channels (default 32), kernel 5, strides
    1-2-2-..., then a linear head on the flattened features. Images are read as sequences.
    When the order has a pool stage, blocks after the first downsample with it instead: stride 1
    and the order's pool where it stands in the order (the first block does not pool)."""
    width, depth = width or 32, depth or 3
    channels, length = as_sequence_shape(tuple(in_shape))
    blocks, c = [], channels
    pool = order.pool
    for i in range(depth):
        blk_order = order.for_first_block() if i == 0 else order
        stride = 1 if i == 0 or pool is not None else 2
        if i == 0 or (pool is not None and length < pool.kernel):
            blk_order = blk_order.without_pool()
        blocks.append(
            block(blk_order, c, width, ndim=1, kernel_size=5, stride=stride, p_drop=p_drop)
        )
        c, length = width, _conv_out(length, 5, stride, 2)
        if blk_order.pool is not None:
            length = _pool_out(length, blk_order.pool)
    final = final_norm_act(order, 1, width, final_norm)
    return LayerOrderNet(
        arch="cnn1d",
        label=order.label,
        reshape=Reshape((channels, _seq_len(in_shape))),
        features=nn.Sequential(*blocks),
        final=final,
        pool=nn.Flatten(),
        head=nn.Linear(width * length, num_classes),
        note=preact_note(order, final),
    )


def _pool_out(length: int, pool) -> int:
    return _conv_out(length, pool.kernel, pool.stride, pool_padding(pool.kernel, pool.stride))


def _seq_len(in_shape) -> int:
    return as_sequence_shape(tuple(in_shape))[1]


def build_cnn2d(
    order: Order,
    *,
    in_shape,
    num_classes: int,
    width: int | None,
    depth: int | None,
    p_drop: float,
    final_norm: bool = True,
) -> LayerOrderNet:
    """VGG-style: ``depth`` stages (default 3) of two 3x3 blocks and a 2x2 max-pool, widths
    ``width`` (default 32) doubling per stage, then global average pooling and a linear head.
    Without a pool stage in the order, pooling sits between blocks, outside the order, and is
    skipped where the map is already 1 wide. With one (``conv-bn-relu-maxpool``, ...), the
    second block of each stage pools where the order says, and the first block does not;
    a stage whose map is smaller than the pool's window does not pool."""
    width, depth = width or 32, depth or 3
    c_in, h, w = as_image_shape(tuple(in_shape))
    layers: list[nn.Module] = []
    c = c_in
    pool = order.pool
    for stage in range(depth):
        out = width * 2**stage
        first = order.for_first_block() if stage == 0 else order
        layers.append(block(first.without_pool(), c, out, ndim=2, kernel_size=3, p_drop=p_drop))
        if pool is not None:
            fits = min(h, w) >= pool.kernel
            second = order if fits else order.without_pool()
            layers.append(block(second, out, out, ndim=2, kernel_size=3, p_drop=p_drop))
            if fits:
                pad = pool_padding(pool.kernel, pool.stride)
                h = _conv_out(h, pool.kernel, pool.stride, pad)
                w = _conv_out(w, pool.kernel, pool.stride, pad)
            c = out
            continue
        layers.append(block(order, out, out, ndim=2, kernel_size=3, p_drop=p_drop))
        kh, kw = min(2, h), min(2, w)
        if kh * kw > 1:
            layers.append(nn.MaxPool2d((kh, kw)))
            h, w = h // kh, w // kw
        c = out
    final = final_norm_act(order, 2, c, final_norm)
    return LayerOrderNet(
        arch="cnn2d",
        label=order.label,
        reshape=Reshape((c_in, *as_image_shape(tuple(in_shape))[1:])),
        features=nn.Sequential(*layers),
        final=final,
        pool=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
        head=nn.Linear(c, num_classes),
        note=preact_note(order, final),
    )
