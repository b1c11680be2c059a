"""``block()``: a weight layer with its norm, activation and dropout, built by walking an order."""

from __future__ import annotations

from torch import nn

from layerorder.blocks.registry import (
    BlockError,
    Ndim,
    check_ndim,
    create_act,
    create_dropout,
    create_norm,
    create_pool,
    create_weight,
    get_activation,
)
from layerorder.order import DEFAULT_P_DROP, Order, Stage, parse_order

# Child names by role, so module paths read like the order: block.weight, block.norm, ...
ROLE_NAMES = {"weight": "weight", "norm": "norm", "act": "act", "dropout": "drop", "pool": "pool"}


class Block(nn.Sequential):
    """An ``nn.Sequential`` that remembers its order; ``print`` shows the spec."""

    def __init__(self, order: Order, modules: list[tuple[str, nn.Module]]):
        super().__init__()
        for name, module in modules:
            self.add_module(name, module)
        self.order = order

    def extra_repr(self) -> str:
        return f"order={self.order.spec}"

    @property
    def weight_layer(self) -> nn.Module:
        return self.get_submodule("weight")


def _stage_module(
    stage: Stage, *, ndim: Ndim, channels: int, p_drop: float, norm_kwargs, act_kwargs
) -> nn.Module | None:
    if stage.role == "norm":
        return (
            None if stage.kind == "none" else create_norm(stage.kind, ndim, channels, **norm_kwargs)
        )
    if stage.role == "act":
        return create_act(stage.kind, **act_kwargs)
    if stage.role == "dropout":
        return create_dropout(stage.kind, ndim, p_drop)
    if stage.role == "pool":
        return create_pool(stage.kind, ndim, stage.kernel, stage.stride)
    raise BlockError(f"unexpected stage {stage}")


def block(
    order: str | Order,
    in_ch: int,
    out_ch: int,
    *,
    ndim: Ndim = 1,
    kernel_size: int | tuple[int, ...] = 3,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str | None = None,
    p_drop: float = DEFAULT_P_DROP,
    groups: int = 1,
    bias: bool | None = None,
    norm_kwargs: dict | None = None,
    act_kwargs: dict | None = None,
) -> Block:
    """Build a block in the given order.

    Bias rule: the weight layer has no bias exactly when the stage right after it is a batch or
    instance norm (which subtracts a per-channel constant); an explicit ``bias=`` wins.
    Channel rule: a norm before the weight stage normalises ``in_ch`` channels, after it ``out_ch``.
    A pool stage (``maxpool``, ``avgpool3s2``, ...) downsamples where it stands; it changes no
    channel count, and a pool between the weight layer and a batch norm does not save the bias.
    ``padding=None`` means ``kernel_size // 2`` ("same" for odd kernels at stride 1).
    """
    order = parse_order(order)
    check_ndim(ndim)
    if min(in_ch, out_ch) < 1:
        raise BlockError(f"channel counts must be >= 1, got in_ch={in_ch}, out_ch={out_ch}")
    if padding is None:
        padding = (
            tuple(k // 2 for k in kernel_size)
            if isinstance(kernel_size, tuple)
            else kernel_size // 2
        )
    use_bias = order.weight_bias() if bias is None else bool(bias)
    modules: list[tuple[str, nn.Module]] = []
    w_idx = order.weight_index
    for i, stage in enumerate(order):
        if stage.role == "weight":
            module = create_weight(
                ndim,
                in_ch,
                out_ch,
                kernel_size=kernel_size,
                stride=stride,
                padding=padding,
                groups=groups,
                bias=use_bias,
            )
        else:
            module = _stage_module(
                stage,
                ndim=ndim,
                channels=in_ch if i < w_idx else out_ch,
                p_drop=p_drop,
                norm_kwargs=dict(norm_kwargs or {}),
                act_kwargs=dict(act_kwargs or {}),
            )
        if module is not None:
            modules.append((ROLE_NAMES[stage.role], module))
    result = Block(order, modules)
    init_block(result, act_kwargs=act_kwargs)
    return result


def init_block(blk: Block, *, act_kwargs: dict | None = None) -> None:
    """Kaiming-normal init of the weight layer, matched to the block's activation."""
    act = blk.order.act
    weight = blk.weight_layer
    if act is None:
        nonlinearity, slope = "linear", 0.0
    else:
        nonlinearity, slope = get_activation(act).init_args(**(act_kwargs or {}))
    nn.init.kaiming_normal_(weight.weight, a=slope, mode="fan_in", nonlinearity=nonlinearity)
    if weight.bias is not None:
        nn.init.zeros_(weight.bias)
