"""CIFAR-style ResNet (He et al. 2016): depth 6n+2, three stages of n residual units.

For ``resnet`` the order argument names the residual unit (``original``, ``bn-after-add``,
``relu-before-add``, ``relu-only-preact``, ``full-preact``); the block presets ``standard`` and
``preact`` are accepted as ``original`` and ``full-preact``.

Dropout (``dropout_at``, one of ``DROPOUT_AT``): ``none`` (He et al.'s units have none), ``branch``
(before each BN in the branch of every original unit: Li et al. 2019's placement, with many BN
layers each shifted) or ``head`` (once, before the classifier: after the last BN, as Li et al.
advise).
"""

from __future__ import annotations

from torch import nn

from layerorder.archs import resolve_unit
from layerorder.blocks.registry import create_act, create_dropout, create_norm, create_weight
from layerorder.blocks.residual import PREACT_VARIANTS, ResidualUnit
from layerorder.models.base import LayerOrderNet, ModelError, Reshape
from layerorder.order import RESNET_DROPOUT_AT

DROPOUT_AT = RESNET_DROPOUT_AT


def build_resnet(
    order: str, *, in_shape, num_classes: int, width: int | None, depth: int | None, p_drop: float,
    dropout_at: str = "none",
) -> LayerOrderNet:
    variant = resolve_unit(order)
    if dropout_at not in DROPOUT_AT:
        raise ModelError(f"dropout_at must be one of {', '.join(DROPOUT_AT)}, got '{dropout_at}'")
    branch_p = p_drop if dropout_at == "branch" else 0.0
    width, depth = width or 16, depth or 20
    if depth < 8 or (depth - 2) % 6:
        raise ModelError(
            f"resnet depth must be 6n+2 with n >= 1 (8, 14, 20, 32, 56, 110), got {depth}"
        )
    n = (depth - 2) // 6
    in_shape = tuple(in_shape)
    ndim = 1 if len(in_shape) <= 2 else 2
    c_in = in_shape[0] if len(in_shape) > 1 else 1
    stem: list[nn.Module] = [
        create_weight(ndim, c_in, width, kernel_size=3, stride=1, padding=1, groups=1, bias=False)
    ]
    preact = variant in PREACT_VARIANTS
    if not preact:
        stem += [create_norm("bn", ndim, width), create_act("relu")]
    units, c = [], width
    for stage in range(3):
        out = width * 2**stage
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            units.append(ResidualUnit(variant, c, out, stride=stride, ndim=ndim, p_drop=branch_p))
            c = out
    final = nn.Sequential(create_norm("bn", ndim, c), create_act("relu")) if preact else None
    pool = nn.AdaptiveAvgPool1d(1) if ndim == 1 else nn.AdaptiveAvgPool2d(1)
    return LayerOrderNet(
        arch="resnet",
        label=variant,
        reshape=Reshape(in_shape if len(in_shape) > 1 else (1, in_shape[0])),
        features=nn.Sequential(nn.Sequential(*stem), *units),
        final=final,
        pool=nn.Sequential(pool, nn.Flatten()),
        head=(nn.Sequential(create_dropout("drop", "linear", p_drop), nn.Linear(c, num_classes))
              if dropout_at == "head" else nn.Linear(c, num_classes)),
        note=(
            f"resnet-{depth}, {variant} units"
            + ("; pre-activation: a final bn-relu follows the last unit" if preact else "")
            + (f"; dropout {p_drop:g} at the {dropout_at}" if dropout_at != "none" else "")
        ),
    )
